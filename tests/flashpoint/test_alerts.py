"""The alerts service on real stores: persistence, exactly-once notifications across restarts,
silences, audited rule edits, config validation, the CLI, and the Kazakhstan replay on the bundled
snapshot."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flashpoint import alerts, store
from flashpoint.alerts import evaluation as alert_evaluation
from flashpoint.cli import main
from flashpoint.config import load_config
from flashpoint.errors import ConfigError
from indicators.alert_rules import AlertRule
from indicators.observations import conform_observations
from tests.support.mail_and_hooks import free_port, webhook_server
from tests.support.snapshot_template import copy_of_template

T0 = datetime(2022, 1, 1, 8, 0)

# SYNTHETIC: a made-up LPG retail price series for KAZ (not the bundled data): flat at 55, then a
# jump to 120 on 2022-01-01 — a +118 % step the fuel-shock rule must catch.
SYNTHETIC_LPG = [
    ("2021-12-01", 55.0),
    ("2021-12-15", 55.0),
    ("2021-12-31", 55.0),
    ("2022-01-01", 120.0),
]

RULE_TOML = """
[[alerts.rules]]
id = "fuel_price_shock"
name = "Domestic fuel price shock"
kind = "level"
target = "indicator:fuel_price_step"
scope = ["KAZ"]
condition = "above"
threshold = 25.0
recovery = 10.0
pending_evaluations = 1
renotify_hours = 24.0
severity = "critical"
channels = {channels}
"""


def write_config(
    tmp_path: Path,
    *,
    channels: str = '["hook"]',
    hook_url: str = "http://127.0.0.1:9/none",
    extra: str = "",
    rules: str | None = None,
) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[general]
countries = ["KAZ", "UZB"]
default_country = "KAZ"

[dashboard]
public_url = "http://risk.example.org:8501"

{RULE_TOML.format(channels=channels) if rules is None else rules}

[notifications.channels.log]
type = "log"

[notifications.channels.hook]
type = "webhook"
url = "{hook_url}"
format = "json"
{extra}
""",
        encoding="utf-8",
    )
    return path


def seed_lpg(engine: Engine) -> None:
    frame = pd.DataFrame(
        {
            "indicator": "fuel_lpg_retail",
            "country": "KAZ",
            "period": [day for day, _ in SYNTHETIC_LPG],
            "value": [value for _, value in SYNTHETIC_LPG],
            "unit": "KZT/litre",
            "source": "analyst",
            "published_at": [day for day, _ in SYNTHETIC_LPG],
            "fetched_at": "2022-01-01",
        }
    )
    store.upsert_observations(engine, conform_observations(frame))


class NoSleep:
    """Records backoff delays instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_no_duplicate_notification_after_a_restart(store_url: str, tmp_path: Path) -> None:
    with webhook_server() as (received, base):
        config = write_config(tmp_path, hook_url=f"{base}/alerts")
        engine = store.make_engine(store_url)
        store.init_schema(engine)
        seed_lpg(engine)
        first = alerts.evaluate_alerts(engine, load_config(config), now=T0, sleep=NoSleep())
        engine.dispose()

        assert [(e.rule_id, e.country, e.to_state) for e in first.events] == [
            ("fuel_price_shock", "KAZ", "firing")
        ]
        assert [record.result.status for record in first.deliveries] == ["sent"]
        assert len(received) == 1
        body = received[0].json()
        assert body["rule_id"] == "fuel_price_shock" and body["country"] == "KAZ"
        assert body["value"] == pytest.approx(118.1818, rel=1e-4) and body["threshold"] == 25.0
        assert "fuel_lpg_retail 55 → 120" in body["detail"]
        assert body["link"] == "http://risk.example.org:8501/country?country=KAZ"

        # "Restart": a new engine and freshly loaded settings; everything comes from the store.
        engine = store.make_engine(store_url)
        second = alerts.evaluate_alerts(
            engine, load_config(config), now=T0 + timedelta(hours=1), sleep=NoSleep()
        )
        assert second.events == [] and second.deliveries == []
        assert second.firing == [("fuel_price_shock", "KAZ")]
        assert len(received) == 1

        # The re-notify interval is honoured from the persisted last_notified_at.
        third = alerts.evaluate_alerts(
            engine, load_config(config), now=T0 + timedelta(hours=24), sleep=NoSleep()
        )
        assert [e.to_state for e in third.events] == ["firing"]
        assert len(received) == 2
        states = alerts.read_alert_states(engine)
        row = states[(states["rule_id"] == "fuel_price_shock") & (states["country"] == "KAZ")]
        assert row["state"].tolist() == ["firing"]
        assert pd.Timestamp(row["last_notified_at"].iloc[0]) == pd.Timestamp(
            T0 + timedelta(hours=24)
        )
        engine.dispose()


def test_crash_between_commit_and_delivery_delivers_late_but_once(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with webhook_server() as (received, base):
        config = write_config(tmp_path, hook_url=f"{base}/alerts")
        engine = store.make_engine(sqlite_url)
        store.init_schema(engine)
        seed_lpg(engine)

        def crash(*args: object, **kwargs: object) -> list[alerts.DeliveryRecord]:
            raise RuntimeError("simulated crash after the commit")

        with monkeypatch.context() as patch:
            patch.setattr(alert_evaluation, "deliver_pending", crash)
            with pytest.raises(RuntimeError, match="simulated crash"):
                alerts.evaluate_alerts(engine, load_config(config), now=T0)
        engine.dispose()
        assert received == []

        engine = store.make_engine(sqlite_url)
        outbox = alerts.read_notifications(engine)
        assert outbox["status"].tolist() == ["pending"]
        report = alerts.evaluate_alerts(
            engine, load_config(config), now=T0 + timedelta(hours=1), sleep=NoSleep()
        )
        assert report.events == []  # the state was already firing: no new event
        assert [r.result.status for r in report.deliveries] == ["sent"]
        assert len(received) == 1
        again = alerts.evaluate_alerts(
            engine, load_config(config), now=T0 + timedelta(hours=2), sleep=NoSleep()
        )
        assert again.deliveries == [] and len(received) == 1
        engine.dispose()


def test_interrupted_send_is_never_retried(sqlite_url: str, tmp_path: Path) -> None:
    with webhook_server() as (received, base):
        config = write_config(tmp_path, hook_url=f"{base}/alerts")
        engine = store.make_engine(sqlite_url)
        store.init_schema(engine)
        seed_lpg(engine)
        settings = load_config(config)
        # An earlier process claimed the row and died while sending (it may have gone out).
        with store.begin_write(engine) as connection:
            event_id = connection.execute(
                store.alert_events.insert().values(
                    rule_id="fuel_price_shock",
                    country="KAZ",
                    at=T0,
                    from_state="ok",
                    to_state="firing",
                    value=118.0,
                    threshold=25.0,
                    message="synthetic",
                )
            ).inserted_primary_key
            assert event_id is not None
            connection.execute(
                store.notifications.insert().values(
                    alert_event_id=int(event_id[0]),
                    channel="hook",
                    status="sending",
                    attempts=0,
                    at=T0,
                )
            )
        records = alerts.deliver_pending(
            engine, settings, now=T0 + alerts.SENDING_TIMEOUT + timedelta(minutes=1)
        )
        assert records == [] and received == []
        row = alerts.read_notifications(engine).iloc[0]
        assert row["status"] == "failed" and "interrupted" in row["error"]
        engine.dispose()


def test_failing_channel_is_recorded_and_the_other_still_delivers(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(
        tmp_path, channels='["hook", "log"]', hook_url=f"http://127.0.0.1:{free_port()}/x"
    )
    engine = store.make_engine(sqlite_url)
    store.init_schema(engine)
    seed_lpg(engine)
    sleep = NoSleep()
    with caplog.at_level(logging.WARNING, "flashpoint.alerts"):
        report = alerts.evaluate_alerts(
            engine, load_config(config), now=T0, sleep=sleep, attempts=3, backoff_seconds=1.0
        )
    statuses = {record.result.channel: record.result for record in report.deliveries}
    assert statuses["hook"].status == "failed" and statuses["hook"].attempts == 3
    assert "ConnectionError" in (statuses["hook"].error or "")
    assert statuses["log"].status == "sent"
    assert sleep.delays == [1.0, 2.0]
    stored = alerts.read_notifications(engine).set_index("channel")
    assert stored.loc["hook", "status"] == "failed" and stored.loc["hook", "attempts"] == 3
    assert stored.loc["log", "status"] == "sent"
    assert any("Domestic fuel price shock" in r.getMessage() for r in caplog.records)
    engine.dispose()


def test_silenced_instance_records_state_but_sends_nothing(sqlite_url: str, tmp_path: Path) -> None:
    with webhook_server() as (received, base):
        config = write_config(tmp_path, hook_url=f"{base}/alerts")
        settings = load_config(config)
        engine = store.make_engine(sqlite_url)
        store.init_schema(engine)
        seed_lpg(engine)
        silence_id, errors = alerts.add_silence(
            engine,
            settings,
            rule_id=None,
            country="KAZ",
            until=T0 + timedelta(days=2),
            comment="known: exchange-pricing reform",
            actor="analyst@example.org",
            now=T0 - timedelta(hours=1),
        )
        assert errors == [] and silence_id is not None
        report = alerts.evaluate_alerts(engine, settings, now=T0, sleep=NoSleep())
        assert [e.to_state for e in report.events] == ["firing"]
        assert report.deliveries == [] and received == []
        assert count(engine, store.notifications) == 0
        assert alerts.read_alert_events(engine)["to_state"].tolist() == ["firing"]

        # The silence ends: the firing that nobody was told about is notified once.
        after = alerts.evaluate_alerts(
            engine, settings, now=T0 + timedelta(days=3), sleep=NoSleep()
        )
        assert [r.result.status for r in after.deliveries] == ["sent"] and len(received) == 1
        audit = store.read_audit(engine)
        assert "silence.add" in audit["action"].tolist()
        engine.dispose()


def test_add_silence_refuses_bad_values_naming_the_field(sqlite_url: str, tmp_path: Path) -> None:
    settings = load_config(write_config(tmp_path))
    engine = store.make_engine(sqlite_url)
    store.init_schema(engine)
    silence_id, errors = alerts.add_silence(
        engine,
        settings,
        rule_id="no_such_rule",
        country="XXX",
        until=T0 - timedelta(days=1),
        comment=" ",
        actor="a",
        now=T0,
    )
    assert silence_id is None
    assert {error.field for error in errors} == {"rule_id", "country", "until", "comment"}
    assert count(engine, store.silences) == 0
    engine.dispose()


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"target": "indicator:no_such_indicator"}, "target", "unknown indicator"),
        ({"threshold": "high"}, "threshold", "must be a number"),
        ({"recovery": 30.0}, "recovery", "at or below"),
        ({"channels": ["pager"]}, "channels", "unknown channel"),
    ],
)
def test_save_rule_refuses_a_bad_rule_and_saves_nothing(
    sqlite_url: str, tmp_path: Path, change: dict[str, object], field: str, fragment: str
) -> None:
    settings = load_config(write_config(tmp_path))
    engine = store.make_engine(sqlite_url)
    store.init_schema(engine)
    definition = {
        "id": "fuel_price_shock",
        "kind": "level",
        "target": "indicator:fuel_price_step",
        "threshold": 25.0,
        "recovery": 10.0,
        **change,
    }
    errors = alerts.save_rule(engine, settings, definition, actor="admin")
    assert field in [error.field for error in errors]
    assert any(fragment in error.message for error in errors)
    assert count(engine, store.alert_rules) == 0 and count(engine, store.audit_log) == 0
    engine.dispose()


def test_rule_override_is_audited_and_reset_to_config(sqlite_url: str, tmp_path: Path) -> None:
    settings = load_config(write_config(tmp_path))
    engine = store.make_engine(sqlite_url)
    store.init_schema(engine)
    (config_rule,) = alerts.config_rules(settings)
    edited = AlertRule(**{**config_rule.__dict__, "threshold": 40.0, "recovery": 20.0})
    assert alerts.save_rule(engine, settings, edited, actor="alice") == []
    (entry,) = alerts.load_rule_entries(engine, settings)
    assert entry.origin == "override" and entry.rule.threshold == 40.0
    assert entry.updated_by == "alice"
    audit = store.read_audit(engine)
    first = audit.iloc[-1]
    assert first["actor"] == "alice" and first["action"] == "alert_rule.save"
    assert first["old"]["threshold"] == 25.0 and first["new"]["threshold"] == 40.0

    assert alerts.set_rule_enabled(engine, settings, "fuel_price_shock", False, actor="bob") == []
    assert alerts.effective_rules(engine, settings)[0].enabled is False

    assert alerts.reset_rule_to_config(engine, settings, "fuel_price_shock", actor="carol")
    (entry,) = alerts.load_rule_entries(engine, settings)
    assert entry.origin == "config" and entry.rule == config_rule
    actions = store.read_audit(engine)["action"].tolist()
    assert actions[0] == "alert_rule.reset_to_config"
    assert "alert_rule.disable" in actions
    engine.dispose()


def test_dashboard_rule_can_be_created_and_evaluated(sqlite_url: str, tmp_path: Path) -> None:
    settings = load_config(write_config(tmp_path))
    engine = store.make_engine(sqlite_url)
    store.init_schema(engine)
    seed_lpg(engine)
    errors = alerts.save_rule(
        engine,
        settings,
        {
            "id": "lpg_jump",
            "name": "LPG jump",
            "kind": "change",
            "target": "indicator:fuel_lpg_retail",
            "scope": "KAZ",
            "threshold": "50",
            "window_days": "31",
            "channels": "log",
        },
        actor="alice",
    )
    assert errors == []
    report = alerts.evaluate_alerts(engine, settings, now=T0, sleep=NoSleep(), channels={})
    fired = {(e.rule_id, e.to_state) for e in report.events}
    assert ("lpg_jump", "firing") in fired
    history = alerts.read_alert_events(engine, rule_id="lpg_jump")
    assert history["value"].iloc[0] == pytest.approx((120 / 55 - 1) * 100)
    engine.dispose()


@pytest.mark.parametrize(
    ("rule_lines", "key", "fragment"),
    [
        ('target = "indicator:nope"\nthreshold = 1.0', "alerts.rules[0].target", "unknown"),
        ('target = "composite"\nthreshold = "high"', "alerts.rules[0].threshold", ""),
        (
            'target = "composite"\nthreshold = 5.0\nrecovery = 6.0',
            "alerts.rules[0].recovery",
            "at or below",
        ),
    ],
)
def test_bad_rule_in_config_toml_names_the_key(
    tmp_path: Path, rule_lines: str, key: str, fragment: str
) -> None:
    rules = f'[[alerts.rules]]\nid = "bad"\nkind = "level"\n{rule_lines}\nchannels = ["log"]\n'
    path = write_config(tmp_path, rules=rules)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key_path == key
    assert fragment in caught.value.problem


# --------------------------------------------------------------------------------------------
# The bundled snapshot


@pytest.fixture(scope="module")
def snapshot_store(snapshot_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A private copy of the loaded snapshot (the CLI test below writes alert states to it)."""
    copy = copy_of_template(snapshot_template, tmp_path_factory.mktemp("snapshot"))
    return f"sqlite:///{copy}"


@pytest.mark.slow
def test_kazakhstan_replay_fires_the_default_fuel_shock_rule_on_1_2_january(
    snapshot_store: str,
) -> None:
    settings = load_config(None if os.environ.get("FLASHPOINT_CONFIG") else "config.toml")
    engine = store.make_engine(snapshot_store)
    observations = store.read_observations(engine, countries=["KAZ", "WLD"])
    engine.dispose()
    rules = alerts.config_rules(settings)
    assert "fuel_price_shock" in {rule.id for rule in rules}
    frame = alerts.replay_alerts(
        observations,
        settings.catalogue(),
        rules,
        country="KAZ",
        start="2021-10-01",
        end="2022-02-15",
        watched=settings.general.countries,
    )
    fuel = frame[(frame["rule_id"] == "fuel_price_shock") & (frame["to_state"] == "firing")]
    assert not fuel.empty
    first = pd.Timestamp(fuel["date"].min())
    assert first in (pd.Timestamp("2022-01-01"), pd.Timestamp("2022-01-02"))
    calm = fuel[fuel["date"] < pd.Timestamp("2022-01-01")]
    assert calm.empty
    # It would have notified, and said what happened.
    fired = fuel[fuel["date"] == first].iloc[0]
    assert bool(fired["notify"]) and fired["value"] > 25


@pytest.mark.slow
def test_cli_evaluate_on_the_snapshot_store_records_states(
    snapshot_store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLASHPOINT_DATABASE_URL", snapshot_store)
    assert main(["alerts", "evaluate", "--config", "config.toml", "--as-of", "2022-01-02"]) == 0
    out = capsys.readouterr().out
    assert "instances as of 2022-01-02" in out
    engine = store.make_engine(snapshot_store)
    states = alerts.read_alert_states(engine)
    engine.dispose()
    assert not states.empty
    kaz = states[(states["rule_id"] == "fuel_price_shock") & (states["country"] == "KAZ")]
    assert kaz["state"].tolist() == ["firing"]

    assert main(["alerts", "list", "--config", "config.toml"]) == 0
    listing = capsys.readouterr().out
    assert "fuel_price_shock" in listing and "KAZ" in listing
    assert main(["alerts", "history", "--config", "config.toml", "--rule", "fuel_price_shock"]) == 0
    assert "firing" in capsys.readouterr().out


def test_cli_test_channel_log(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.INFO, "flashpoint.alerts"):
        assert main(["alerts", "test-channel", "log", "--config", "config.toml"]) == 0
    assert "test message sent through log" in capsys.readouterr().out
    assert any("[TEST]" in record.getMessage() for record in caplog.records)
    assert main(["alerts", "test-channel", "nope", "--config", "config.toml"]) == 2
    assert "unknown channel 'nope'" in capsys.readouterr().err


def test_cli_silence_add_list_expire(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = str(write_config(tmp_path))
    monkeypatch.setenv("FLASHPOINT_DATABASE_URL", sqlite_url)
    engine = store.make_engine(sqlite_url)
    store.init_schema(engine)
    engine.dispose()
    args = ["alerts", "silence", "add", "--config", config, "--country", "KAZ", "--until", "3d"]
    assert main([*args, "--comment", "reform week", "--by", "ops"]) == 0
    assert "silence 1 set until" in capsys.readouterr().out
    assert main(["alerts", "silence", "list", "--config", config]) == 0
    assert "reform week" in capsys.readouterr().out
    assert main(["alerts", "silence", "expire", "1", "--config", config]) == 0
    assert main(["alerts", "silence", "list", "--config", config]) == 0
    assert "no silences in force" in capsys.readouterr().out
    bad = ["alerts", "silence", "add", "--config", config, "--rule", "nope", "--until", "1d"]
    assert main([*bad, "--comment", "x"]) == 2
    assert "silence rule_id: unknown rule 'nope'" in capsys.readouterr().err


def test_cli_on_a_store_never_initialised_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path))
    database = tmp_path / "never-initialised.db"
    monkeypatch.setenv("FLASHPOINT_DATABASE_URL", f"sqlite:///{database}")
    assert main(["alerts", "list", "--config", config]) != 0
    error = capsys.readouterr().err
    assert "no store at" in error and "flashpoint init" in error
    # Reading refuses to create anything: the store is still not initialised afterwards.
    engine = store.make_engine(f"sqlite:///{database}")
    try:
        assert store.read_schema_version(engine) is None
    finally:
        engine.dispose()
