"""A blind trigger is never shown as calm: dashboard, CLI (`score`, `replay`), export, notices.

The blind country is real: the bundled snapshot's Kazakhstan with its own trigger inputs (the
domestic fuel prices and protest counts every trigger indicator derives from) cut at
`CUT_OFF`, scored today — long after the last of them went stale. What each surface must show is
computed here with the scoring functions, never copied from the surfaces.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from flashpoint import store
from flashpoint.alerts import evaluate_alerts
from flashpoint.cli import main
from flashpoint.config import load_config
from flashpoint.notify import Notice
from flashpoint.scoring import save_panel
from indicators.scoring import PanelScore, score_panel
from indicators.trigger_state import describe_trigger
from tests.dashboard.conftest import APP, CONFIG, chart_figure, chart_nodes, sqlite_url

COUNTRY = "KAZ"
CUT_OFF = dt.date(2024, 7, 1)
TIMEOUT = 300
# A trigger shown as a number that reads as calm: "trigger 0.0", "trigger 0.00", "0.0 (quiet)".
CALM = re.compile(r"trigger\s+0\.0|0\.00? \(quiet\)", re.IGNORECASE)


def _trigger_bases() -> list[str]:
    """The base indicators the scored trigger indicators derive from (fuel prices, protests)."""
    catalogue = load_config(CONFIG).catalogue()
    kinds = {pillar.id: pillar.kind for pillar in catalogue.pillars}
    bases: set[str] = set()
    for indicator in catalogue.enabled_indicators:
        if kinds.get(indicator.pillar) == "trigger":
            bases.update(indicator.derived_from or (indicator.id,))
    return sorted(bases)


@pytest.fixture(scope="module")
def blind_store(tmp_path_factory: pytest.TempPathFactory, snapshot_store: Path) -> Path:
    """The snapshot store with KAZ's own trigger inputs from `CUT_OFF` on removed."""
    path = tmp_path_factory.mktemp("blind") / "flashpoint.db"
    path.write_bytes(snapshot_store.read_bytes())
    engine = store.make_engine(sqlite_url(path))
    table = store.observations
    try:
        with engine.begin() as connection:
            connection.execute(
                table.delete().where(
                    table.c.country == COUNTRY,
                    sa.or_(
                        *(
                            table.c.indicator.like(base[:-1] + "%")
                            if base.endswith("*")
                            else table.c.indicator == base
                            for base in _trigger_bases()
                        )
                    ),
                    table.c.period >= CUT_OFF,
                )
            )
    finally:
        engine.dispose()
    return path


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory, blind_store: Path) -> Path:
    """A config on the blind store, KAZ watched, with a rule that fires on any composite."""
    path = tmp_path_factory.mktemp("blind-config") / "config.toml"
    path.write_text(
        f"""
[general]
countries = ["{COUNTRY}"]
default_country = "{COUNTRY}"

[store]
url = "{sqlite_url(blind_store)}"

[[alerts.rules]]
id = "any_composite"
name = "Composite above zero"
kind = "level"
target = "composite"
scope = ["{COUNTRY}"]
condition = "above"
threshold = 0.0
channels = ["recorder"]

[notifications.channels.recorder]
type = "log"
""",
        encoding="utf-8",
    )
    return path


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.fixture(scope="module")
def expected(blind_store: Path) -> PanelScore:
    engine = store.make_engine(sqlite_url(blind_store))
    try:
        observations = store.read_observations(engine, include_forecasts=False)
    finally:
        engine.dispose()
    catalogue = load_config(CONFIG).catalogue()
    return score_panel(observations, catalogue, as_of=_today(), countries=[COUNTRY])


@pytest.fixture(scope="module")
def row(expected: PanelScore) -> pd.Series:
    kaz = expected.country(COUNTRY)
    # The premise: KAZ is blind, having once been seen.
    assert kaz["trigger_state"] == "blind", kaz
    assert pd.notna(kaz["blind_since"])
    assert pd.Timestamp(kaz["blind_since"]).date() > CUT_OFF
    assert pd.isna(kaz["trigger"])
    assert kaz["composite_high"] > kaz["composite"]
    return kaz


def _blind_words(row: pd.Series) -> str:
    """ "trigger blind since 6 Jan 2025: no fresh domestic fuel price or unrest data"."""
    text = describe_trigger(row)
    assert text.startswith("trigger blind since ") and "no fresh domestic fuel price" in text
    return text


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 0
    return capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# CLI


def test_score_table_says_blind_and_shows_the_range(
    config_file: Path, row: pd.Series, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(capsys, ["score", "--config", str(config_file), "--country", COUNTRY])
    assert _blind_words(row) in out
    assert f"{row['composite']:.2f}–{row['composite_high']:.2f}" in out
    assert f"{row['band']} (trigger blind)" in out
    assert not CALM.search(out), out
    # The trigger pillars of a blind country are "–", never 0.00.
    assert "fuel_shock –" in out and "unrest_spike –" in out


def test_score_json_and_csv_carry_the_flag_and_no_zero(
    config_file: Path, row: pd.Series, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["score", "--config", str(config_file), "--country", COUNTRY]
    document = json.loads(_run(capsys, [*base, "--format", "json"]))
    kaz = document["countries"][0]
    assert kaz["trigger"] is None
    assert kaz["trigger_state"] == "blind"
    assert kaz["blind_since"] == f"{pd.Timestamp(row['blind_since']):%Y-%m-%d}"
    assert kaz["trigger_text"] == _blind_words(row)
    assert kaz["composite_high"] == pytest.approx(row["composite_high"])
    assert kaz["pillars"]["fuel_shock"] is None and kaz["pillars"]["unrest_spike"] is None
    table = pd.read_csv(io.StringIO(_run(capsys, [*base, "--format", "csv"])))
    assert table.loc[0, "trigger_state"] == "blind"
    assert pd.isna(table.loc[0, "trigger"])
    assert pd.isna(table.loc[0, "fuel_shock"])
    assert table.loc[0, "trigger_reason"] == row["trigger_reason"]


def test_replay_marks_the_day_the_trigger_went_blind(
    config_file: Path, row: pd.Series, capsys: pytest.CaptureFixture[str]
) -> None:
    since = pd.Timestamp(row["blind_since"])
    start, end = since - pd.Timedelta(days=3), since + pd.Timedelta(days=3)
    argv = ["replay", "--config", str(config_file), "--country", COUNTRY]
    argv += ["--from", f"{start:%Y-%m-%d}", "--to", f"{end:%Y-%m-%d}"]
    out = _run(capsys, argv)
    lines = {line[:10]: line for line in out.splitlines() if re.match(r"\d{4}-\d{2}-\d{2} ", line)}
    assert "blind since" not in lines[f"{since - pd.Timedelta(days=1):%Y-%m-%d}"]
    for day in pd.date_range(since, end):
        shown = lines[f"{day:%Y-%m-%d}"]
        assert "blind since" in shown and "(trigger blind)" in shown, shown
        assert not CALM.search(shown), shown
    table = pd.read_csv(io.StringIO(_run(capsys, [*argv, "--format", "csv"])))
    blind = table[table["trigger_state"] == "blind"]
    assert pd.to_datetime(blind["date"]).min() == since
    assert blind["trigger"].isna().all() and blind["fuel_shock"].isna().all()


# --------------------------------------------------------------------------------------------
# Export and notifications


def test_exported_scores_carry_the_blind_flag(
    config_file: Path, blind_store: Path, expected: PanelScore, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = store.make_engine(sqlite_url(blind_store))
    try:
        save_panel(engine, expected)
    finally:
        engine.dispose()
    argv = ["export", "--config", str(config_file), "--what", "scores", "--country", COUNTRY]
    exported = pd.read_csv(io.StringIO(_run(capsys, [*argv, "--output", "-"])))
    last = exported.iloc[-1]
    assert last["trigger_state"] == "blind"
    assert pd.isna(last["trigger"])
    since = pd.Timestamp(expected.country(COUNTRY)["blind_since"])
    assert last["blind_since"] == f"{since:%Y-%m-%d}"
    assert last["composite_high"] > last["composite"]
    detail = json.loads(last["detail"])
    assert detail["pillars"]["fuel_shock"] is None


@dataclass
class Recorder:
    """A channel that keeps what it is asked to send."""

    name: str
    sent: list[Notice] = field(default_factory=list)

    def send(self, notice: Notice) -> None:
        self.sent.append(notice)


def test_a_notice_on_a_blind_country_says_blind(
    config_file: Path, blind_store: Path, row: pd.Series
) -> None:
    settings = load_config(config_file)
    recorder = Recorder("recorder")
    engine = store.make_engine(sqlite_url(blind_store))
    try:
        with engine.begin() as connection:
            for table in (store.notifications, store.alert_events, store.alert_state):
                connection.execute(sa.delete(table))
        evaluate_alerts(engine, settings, channels={"recorder": recorder}, sleep=lambda _: None)
    finally:
        engine.dispose()
    assert recorder.sent, "the composite rule fires on KAZ"
    notice = recorder.sent[0]
    for text in (notice.text, json.dumps(notice.as_json()), json.dumps(notice.as_slack())):
        assert _blind_words(row) in text
        assert "trigger blind)" in text
        assert not CALM.search(text), text


# --------------------------------------------------------------------------------------------
# Dashboard


def _page_text(at: AppTest) -> str:
    """The page's text as a reader sees it (markdown escapes such as `\\:` removed)."""
    parts = [item.value for item in (*at.markdown, *at.caption, *at.info, *at.warning)]
    return re.sub(r"\\(.)", r"\1", "\n".join(str(part) for part in parts))


def _open(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def test_overview_headline_says_blind_never_trigger_zero(
    blind_store: Path, use_store: Any, row: pd.Series
) -> None:
    use_store(blind_store)
    at = _open()
    assert not at.exception, [item.value for item in at.exception]
    metrics = {element.label: str(element.value) for element in at.metric}
    assert metrics["Trigger"] == "blind"
    assert metrics["Composite risk (0–10)"] == (
        f"{row['composite']:.1f}–{row['composite_high']:.1f}"
    )
    text = _page_text(at)
    assert _blind_words(row)[len("trigger ") :] in text
    assert not CALM.search(text), text
    # The pillar bars: the trigger pillars say "blind", not 0.0.
    catalogue = load_config(CONFIG).catalogue()
    bars = next(
        trace
        for trace in (chart_figure(node)["data"][0] for node in chart_nodes(at))
        if trace.get("name") == "Pillar score"
    )
    shown = dict(zip(bars["y"], bars["text"], strict=True))
    for pillar in catalogue.pillars:
        if pillar.kind == "trigger" and pillar.name in shown:
            assert shown[pillar.name] == "blind", shown


def test_compare_page_flags_the_blind_trigger(
    blind_store: Path, use_store: Any, row: pd.Series
) -> None:
    use_store(blind_store)
    at = _open("app_pages/compare.py")
    assert not at.exception, [item.value for item in at.exception]
    table = at.dataframe[0].value
    kaz = table[table["ISO3"] == COUNTRY].iloc[0]
    assert pd.isna(kaz["Trigger"])
    assert kaz["Trigger state"] == _blind_words(row)


def test_overview_offers_the_last_day_the_blind_trigger_could_see(
    blind_store: Path, use_store: Any, row: pd.Series
) -> None:
    """One click from "blind" to the trigger as it last stood: the page as of the day before
    the trigger went blind, where it is not blind."""
    use_store(blind_store)
    at = _open()
    assert not at.exception, [item.value for item in at.exception]
    last_seen = (pd.Timestamp(row["blind_since"]) - pd.Timedelta(days=1)).date()
    button = at.button(key="as_of_last_seen")
    assert f"{last_seen:%d %b %Y}" in button.label
    button.click().run()
    assert not at.exception, [item.value for item in at.exception]
    text = _page_text(at)
    assert f"As of {last_seen:%d %B %Y}." in text
    metrics = {element.label: str(element.value) for element in at.metric}
    assert metrics["Trigger"] != "blind"
    assert "blind since" not in text
    # Back on a past day the offer is gone (it is for the live view).
    assert not [b for b in at.button if b.key == "as_of_last_seen"]
