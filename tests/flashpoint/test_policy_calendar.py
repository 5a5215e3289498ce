"""The policy calendar: announced price changes count in the trigger from their announcement.

The announcement rows here are SYNTHETIC (made up for the test: a +100 % LPG change announced
for KAZ on 2021-12-01, effective 2022-01-01); they are not a record of a real decree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fetchers.errors import ImportFileError
from fetchers.policy_calendar import INDICATOR, parse_announcements
from flashpoint import store
from flashpoint.cli import main
from flashpoint.config import load_config
from indicators.scoring import score_panel

CONFIG = Path(__file__).parents[2] / "config.toml"
HEADER = "country,product,announced,effective,expected_change_pct,source_url\n"
# SYNTHETIC announcements (see the module docstring).
GOOD = HEADER + (
    "KAZ,LPG,2021-12-01,2022-01-01,100,https://example.org/decree\n"
    "KAZ,diesel,2021-12-05,2022-01-01,20,https://example.org/decree\n"
    "kgz,bread,2022-03-01,2022-03-15,12.5,\n"
)


def test_rows_become_observations_visible_from_the_announcement() -> None:
    parsed = parse_announcements(GOOD)
    rows = parsed.observations.set_index("country")
    assert parsed.rows_read == 3 and parsed.merged == 1  # LPG and diesel: same date
    assert set(parsed.observations["indicator"]) == {INDICATOR}
    kaz = rows.loc["KAZ"]
    assert kaz["value"] == 100.0  # the largest change of that country and date
    assert kaz["period"] == pd.Timestamp("2022-01-01")  # the effective date
    assert kaz["published_at"] == pd.Timestamp("2021-12-01")  # its announcement
    assert rows.loc["KGZ", "value"] == 12.5 and rows.loc["KGZ", "unit"] == "%"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("XXX,LPG,2021-12-01,2022-01-01,100,", "row 2, country"),
        ("KAZ,,2021-12-01,2022-01-01,100,", "row 2, product"),
        ("KAZ,LPG,1 Dec,2022-01-01,100,", "row 2, announced"),
        ("KAZ,LPG,2022-02-01,2022-01-01,100,", "row 2, effective: 2022-01-01 is before"),
        ("KAZ,LPG,2021-12-01,2022-01-01,a lot,", "row 2, expected_change_pct"),
        ("KAZ,LPG,2021-12-01,2022-01-01,inf,", "row 2, expected_change_pct: must be a finite"),
        ("KAZ,LPG,2021-12-01,2022-01-01,-150,", "row 2, expected_change_pct: -150 is below -100"),
        ("KAZ,LPG,2021-12-01,2022-01-01,10,ftp://example.org/x", "row 2, source_url: .*http"),
        ("KAZ,LPG,2021-12-01,2022-01-01,10,javascript:alert(1)", "row 2, source_url: .*http"),
        ("KAZ,LPG,2021-12-01,2022-01-01,10,https://", "row 2, source_url: .*no host"),
    ],
)
def test_a_bad_row_is_named_with_its_column(line: str, expected: str) -> None:
    with pytest.raises(ImportFileError, match=expected):
        parse_announcements(HEADER + line + "\n", name="calendar.csv")


def test_a_row_repeating_another_announcement_is_named() -> None:
    text = HEADER + "KAZ,LPG,2021-12-01,2022-01-01,100,\nKAZ,lpg,2021-12-02,2022-01-01,90,\n"
    with pytest.raises(ImportFileError, match=r"row 3: repeats row 2 \(KAZ, lpg"):
        parse_announcements(text, name="calendar.csv")


def test_product_url_and_note_are_kept() -> None:
    row = "KAZ,  LPG   autogas ,2021-12-01,2022-01-01,100,https://example.org/d,decree 4\n"
    text = HEADER.strip() + ",note\n" + row
    (record,) = parse_announcements(text).records
    assert record.product == "LPG autogas"  # inner spaces collapsed
    assert record.source_url == "https://example.org/d" and record.note == "decree 4"


def test_a_missing_column_is_named() -> None:
    with pytest.raises(ImportFileError, match=r"missing column.*expected_change_pct"):
        parse_announcements("country,product,announced,effective\nKAZ,LPG,2021-12-01,2022-01-01\n")


def test_the_scheduled_shock_counts_in_the_trigger_from_its_announcement() -> None:
    catalogue = load_config(CONFIG).catalogue()
    observations = parse_announcements(GOOD).observations
    eve = score_panel(observations, catalogue, as_of="2021-11-30", countries=["KAZ"])
    day = score_panel(observations, catalogue, as_of="2021-12-01", countries=["KAZ"])
    before = eve.contributions.set_index("indicator").loc[INDICATOR]
    after = day.contributions.set_index("indicator").loc[INDICATOR]
    assert before["status"] == "missing"
    assert after["status"] == "ok" and after["value"] == 100.0 and after["normalised"] == 10.0
    assert eve.country("KAZ")["trigger_state"] == "blind"
    kaz = day.country("KAZ")
    assert kaz["trigger_state"] == "active" and kaz["trigger"] >= 5.0
    # A month after it took effect the announcement has done its work: stale, scored 0.
    late = score_panel(observations, catalogue, as_of="2022-02-15", countries=["KAZ"])
    assert late.contributions.set_index("indicator").at[INDICATOR, "status"] == "stale"


def test_cli_imports_all_or_nothing_and_score_shows_the_scheduled_shock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "flashpoint.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{database}"\n', encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + "KAZ,LPG,2022-02-01,2022-01-01,100,\n", encoding="utf-8")
    assert main(["import-announcements", "--config", str(config), str(bad)]) == 2
    assert "row 5, effective" in capsys.readouterr().err
    engine = store.make_engine(f"sqlite:///{database}")
    try:
        store.init_schema(engine)
        assert store.read_observations(engine, indicators=[INDICATOR]).empty  # nothing written
    finally:
        engine.dispose()
    good = tmp_path / "calendar.csv"
    good.write_text(GOOD, encoding="utf-8")
    assert main(["import-announcements", "--config", str(config), str(good)]) == 0
    out = capsys.readouterr().out
    assert "3 new" in out and "scheduled shocks written: 2" in out
    assert "1 announcement(s) share a country and effective date" in out
    engine = store.make_engine(f"sqlite:///{database}")
    try:
        stored = store.read_announcements(engine).set_index("product")
        assert stored.loc["LPG", "source_url"] == "https://example.org/decree"
        assert stored.loc["diesel", "expected_change_pct"] == 20.0
        assert pd.isna(stored.loc["bread", "source_url"])  # not recorded: missing, never ""
        audit = store.read_audit(engine)
        assert set(audit["action"]) == {"announcement_add"} and len(audit) == 3
        assert audit["actor"].str.endswith("(cli)").all()
    finally:
        engine.dispose()
    # The same file again changes nothing.
    assert main(["import-announcements", "--config", str(config), str(good)]) == 0
    assert "0 new, 0 changed, 3 unchanged" in capsys.readouterr().out
    argv = ["score", "--config", str(config), "--country", "KAZ", "--as-of", "2021-12-01"]
    assert main([*argv, "--format", "json"]) == 0
    kaz = json.loads(capsys.readouterr().out)["countries"][0]
    shock = [row for row in kaz["contributions"] if row["indicator"] == INDICATOR]
    assert shock and shock[0]["value"] == 100.0 and shock[0]["status"] == "ok"
    assert kaz["trigger_state"] == "active"
    # The shock row holds one value for LPG (+100) and diesel (+20): the viewer learns which.
    named = "LPG +100 % announced 1 Dec 2021, effective 1 Jan 2022"
    assert kaz["trigger_driver_text"].endswith(named)
    assert main(argv) == 0
    assert f"trigger driver: Announced price change (scheduled shock): {named}" in (
        capsys.readouterr().out
    )


def test_export_carries_product_url_and_licence_and_imports_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configs = []
    for name in ("first", "second"):
        config = tmp_path / f"{name}.toml"
        config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / name}.db"\n', encoding="utf-8")
        configs.append(config)
    calendar = tmp_path / "calendar.csv"
    calendar.write_text(GOOD, encoding="utf-8")
    assert main(["import-announcements", "--config", str(configs[0]), str(calendar)]) == 0
    exported = tmp_path / "announcements.csv"
    argv = ["export", "--config", str(configs[0]), "--what", "announcements"]
    assert main([*argv, "--country", "KAZ", "--output", str(exported)]) == 0
    frame = pd.read_csv(exported, keep_default_na=False).set_index("product")
    assert sorted(frame.index) == ["LPG", "diesel"]  # --country KAZ: no KGZ bread
    assert frame.loc["LPG", "source_url"] == "https://example.org/decree"
    assert frame.loc["LPG", "announced"] == "2021-12-01"
    licence = load_config(CONFIG).indicator(INDICATOR).licence
    assert (frame["licence"] == licence).all() and licence
    capsys.readouterr()
    assert main([*argv, "--indicator", "gini", "--output", str(exported)]) == 1
    assert "--indicator does not apply to --what announcements" in capsys.readouterr().err
    assert main([*argv, "--output", str(exported)]) == 0
    assert main(["import-announcements", "--config", str(configs[1]), str(exported)]) == 0
    assert "3 new, 0 changed" in capsys.readouterr().out
