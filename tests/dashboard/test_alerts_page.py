"""The Alerts page with AppTest: read-only for viewers — even crafted widget values and session
state cannot change a rule — and validated, audited edits for a logged-in admin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Widget

from flashpoint import alerts, auth, store
from flashpoint.config import load_config

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "app_pages" / "alerts.py"
PASSWORD = "correct horse battery staple"
RULE = "fuel_price_shock"

CONFIG = """
[general]
countries = ["KAZ", "UZB"]
default_country = "KAZ"

[[alerts.rules]]
id = "fuel_price_shock"
name = "Domestic fuel price shock"
kind = "level"
target = "indicator:fuel_price_step"
scope = "watched"
condition = "above"
threshold = 25.0
recovery = 10.0
severity = "critical"
channels = ["log"]

[notifications.channels.log]
type = "log"

[dashboard]
admin_name = "Alice"
"""


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    # Streamlit caches are process-global: a previous test's engine or settings must not leak.
    st.cache_data.clear()
    st.cache_resource.clear()
    auth.THROTTLE.reset()  # failed logins of one test must not throttle the next
    yield
    auth.THROTTLE.reset()
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'flashpoint.db'}"
    engine = store.make_engine(url)
    store.init_schema(engine)
    engine.dispose()
    monkeypatch.setenv("FLASHPOINT_CONFIG", str(config))
    monkeypatch.setenv("FLASHPOINT_DATABASE_URL", url)
    monkeypatch.setenv("FLASHPOINT_ADMIN_PASSWORD", PASSWORD)
    monkeypatch.delenv("FLASHPOINT_ADMIN_EMAILS", raising=False)
    return url


def snapshot_of_writes(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table an admin action can write."""
    engine = store.make_engine(url)
    tables = (store.alert_rules, store.audit_log, store.silences, store.alert_state)
    with engine.connect() as connection:
        rows = {
            table.name: [tuple(row) for row in connection.execute(sa.select(table))]
            for table in tables
        }
    engine.dispose()
    return rows


def page() -> AppTest:
    return AppTest.from_file(str(PAGE), default_timeout=30)


def key(name: str) -> str:
    return f"rule_{RULE}_{name}"


def messages(at: AppTest) -> str:
    return "\n".join(element.value for element in at.error)


def test_page_renders_rules_read_only_for_a_viewer(store_url: str) -> None:
    at = page().run()
    assert not at.exception
    assert at.title[0].value == "Alerts"
    rules = at.dataframe[0].value
    assert RULE in rules["Rule"].tolist()
    assert at.text_input(key=key("threshold")).value == "25"
    assert at.text_input(key=key("threshold")).disabled
    assert at.button(key=f"toggle_{RULE}").disabled


def test_viewer_cannot_change_a_rule_even_by_crafting_widget_and_session_state(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot_of_writes(store_url)
    at = page().run()
    # A viewer's forgeries: session flags that look like an admin session, a token whose
    # signature was not made by this process, and the form's widget values.
    at.session_state[auth.ADMIN_TOKEN_KEY] = "admin|9999999999|" + "0" * 64
    at.session_state["is_admin"] = True
    at.session_state["admin"] = True
    at.session_state[key("threshold")] = "99"
    at.session_state[key("enabled")] = False
    at.run()
    assert not at.exception
    # The forged session did not unlock the editor ...
    assert at.text_input(key=key("threshold")).disabled
    # ... and a hand-crafted client, which is not bound by the browser's disabled widgets,
    # submits anyway: simulate it by lifting the test harness's browser-only guard.
    monkeypatch.setattr(Widget, "_assert_can_interact", lambda self: None)
    at.text_input(key=key("threshold")).set_value("99")
    at.text_input(key=key("recovery")).set_value("1")
    at.checkbox(key=key("enabled")).uncheck()
    next(button for button in at.button if button.label == "Save rule").click().run()
    at.button(key=f"toggle_{RULE}").click().run()
    at.button(key=f"delete_{RULE}").click().run()
    at.selectbox(key="silence_country").set_value("KAZ")
    at.text_input(key="silence_comment").set_value("crafted")
    next(button for button in at.button if button.label == "Add silence").click().run()
    assert not at.exception

    assert snapshot_of_writes(store_url) == before
    engine = store.make_engine(store_url)
    (rule,) = alerts.effective_rules(engine, load_config(None))
    engine.dispose()
    assert rule.threshold == 25.0 and rule.enabled


class AdminUntilTheWrite:
    """`auth.current_admin` answering from a script: an admin while the page renders, no longer
    an admin when the write re-checks (a session revoked between rendering and submitting)."""

    def __init__(self, answers: list[str | None]) -> None:
        self.answers = answers
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> str | None:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return answer


def test_every_write_rechecks_the_admin_on_the_server(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot_of_writes(store_url)
    # Run 1 renders (1 check: admin); run 2 renders (admin) and then writes (check: not admin).
    fake = AdminUntilTheWrite(["mallory", "mallory", None])
    monkeypatch.setattr(auth, "current_admin", fake)
    at = page().run()
    assert not at.text_input(key=key("threshold")).disabled  # the editor rendered unlocked
    at.text_input(key=key("threshold")).set_value("99")
    next(button for button in at.button if button.label == "Save rule").click().run()
    assert not at.exception
    assert fake.calls == 3
    assert "Only an admin can change alert rules" in messages(at)
    assert snapshot_of_writes(store_url) == before


def test_wrong_password_does_not_log_in(store_url: str) -> None:
    at = page().run()
    at.text_input(key="admin_password").set_value("guess")
    next(button for button in at.button if button.label == "Log in").click().run()
    assert "Wrong password." in messages(at)
    assert auth.ADMIN_TOKEN_KEY not in at.session_state
    assert at.text_input(key=key("threshold")).disabled


def login(at: AppTest) -> None:
    # No name to type: a password login acts as `[dashboard] admin_name` ("Alice" here).
    assert "admin_login_name" not in [widget.key for widget in at.text_input]
    at.text_input(key="admin_password").set_value(PASSWORD)
    next(button for button in at.button if button.label == "Log in").click().run()
    assert not at.exception


class SteppedClock:
    """The login throttle's clock, moved only by the test: the backoff is judged on the throttle's
    own time, never on how fast this machine happens to run the page."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _try_password(at: AppTest, password: str) -> str:
    at.text_input(key="admin_password").set_value(password)
    next(button for button in at.button if button.label == "Log in").click().run()
    return messages(at)


def test_ten_wrong_passwords_trigger_the_backoff(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SteppedClock()  # time stands still: every attempt comes at once
    monkeypatch.setattr(auth.THROTTLE, "clock", clock)
    at = page().run()
    answers = [_try_password(at, "guess") for _ in range(10)]
    assert "Wrong password." in answers[0]
    assert any("Too many failed logins" in answer for answer in answers)
    # Even the right password is refused while the backoff runs.
    assert "Too many failed logins" in _try_password(at, PASSWORD)
    assert auth.ADMIN_TOKEN_KEY not in at.session_state


def test_ten_counted_failures_lock_out_even_after_each_backoff_ran_out(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SteppedClock()
    monkeypatch.setattr(auth.THROTTLE, "clock", clock)
    at = page().run()
    for _ in range(auth.LOCKOUT_AFTER):
        clock.now += auth.MAX_DELAY_SECONDS + 1  # each backoff has run out: every guess counts
        assert "Wrong password." in _try_password(at, "guess")
    clock.now += auth.MAX_DELAY_SECONDS + 1
    assert "locked out" in _try_password(at, PASSWORD)
    assert auth.ADMIN_TOKEN_KEY not in at.session_state
    clock.now += auth.LOCKOUT_SECONDS + 1  # the lockout runs out: the right password works again
    _try_password(at, PASSWORD)
    assert auth.ADMIN_TOKEN_KEY in at.session_state


def save(at: AppTest) -> None:
    next(button for button in at.button if button.label == "Save rule").click().run()
    assert not at.exception


@pytest.mark.parametrize(
    ("field", "value", "named", "fragment"),
    [
        ("threshold", "abc", "threshold", "must be a number"),
        ("recovery", "30", "recovery", "at or below"),
        ("target", "indicator:nope", "target", "unknown indicator"),
        ("scope", "KAZ, XX1", "scope", "ISO3"),
        ("margin", "0.5", "margin", "only a band_change rule has a margin"),
        ("margin", "wide", "margin", "must be a number"),
    ],
)
def test_admin_bad_values_name_the_field_and_save_nothing(
    store_url: str, field: str, value: str, named: str, fragment: str
) -> None:
    before = snapshot_of_writes(store_url)
    at = page().run()
    login(at)
    assert not at.text_input(key=key("threshold")).disabled
    at.text_input(key=key(field)).set_value(value)
    save(at)
    text = messages(at)
    assert f"**{named}**" in text and fragment in text.replace("\\", "")
    assert snapshot_of_writes(store_url) == before


def test_admin_edit_is_saved_audited_and_can_be_reset(store_url: str) -> None:
    at = page().run()
    login(at)
    at.text_input(key=key("threshold")).set_value("40")
    at.text_input(key=key("recovery")).set_value("20")
    save(at)
    engine = store.make_engine(store_url)
    settings = load_config(None)
    (entry,) = alerts.load_rule_entries(engine, settings)
    assert entry.origin == "override" and entry.rule.threshold == 40.0
    assert entry.rule.recovery == 20.0 and entry.updated_by == "Alice"
    audit = store.read_audit(engine)
    assert audit.iloc[0]["actor"] == "Alice"
    assert audit.iloc[0]["old"]["threshold"] == 25.0 and audit.iloc[0]["new"]["threshold"] == 40.0

    at.button(key=f"toggle_{RULE}").click().run()
    assert alerts.effective_rules(engine, settings)[0].enabled is False
    at.button(key=f"reset_{RULE}").click().run()
    assert not at.exception
    (entry,) = alerts.load_rule_entries(engine, settings)
    assert entry.origin == "config" and entry.rule.threshold == 25.0 and entry.rule.enabled
    engine.dispose()


def test_admin_creates_a_rule_and_a_silence(store_url: str) -> None:
    at = page().run()
    login(at)
    at.selectbox(key="alerts_rule_choice").set_value("➕ New rule").run()
    at.text_input(key="rule_new_id").set_value("composite_watch")
    at.text_input(key="rule_new_target").set_value("composite")
    at.text_input(key="rule_new_threshold").set_value("5.5")
    next(button for button in at.button if button.label == "Create rule").click().run()
    assert not at.exception and not at.error
    at.selectbox(key="silence_rule").set_value("composite_watch")
    at.text_input(key="silence_comment").set_value("calibrating")
    next(button for button in at.button if button.label == "Add silence").click().run()
    assert not at.exception and not at.error
    engine = store.make_engine(store_url)
    rules = {rule.id: rule for rule in alerts.effective_rules(engine, load_config(None))}
    assert rules["composite_watch"].threshold == 5.5
    silences = alerts.read_silences(engine)
    assert silences["rule_id"].tolist() == ["composite_watch"]
    assert silences["created_by"].tolist() == ["Alice"]
    engine.dispose()


def test_a_fresh_store_says_never_evaluated_in_plain_words(store_url: str) -> None:
    at = page().run()
    assert not at.exception
    firing = next(element for element in at.metric if element.label == "Firing")
    assert firing.value == "never evaluated", "never evaluated is not 0 firing"
    assert any("never been evaluated" in element.value for element in at.info)
    # Alerts follow the watched list, and the page says how to widen it.
    watched = next(element.value for element in at.info if "watched countries" in element.value)
    assert "Kazakhstan" in watched and "Uzbekistan" in watched and "config.toml" in watched
    # What a rule watches is named, not an internal id; missing cells are a dash, never None.
    rules = at.dataframe[0].value
    target = str(rules.loc[rules["Rule"] == RULE, "Target"].iloc[0])
    assert "fuel price step" in target.lower() and "indicator:" not in target
    assert not rules.isin([None]).any().any() and "None" not in rules.astype(str).to_numpy()


def test_a_viewer_without_admin_login_is_told_to_ask_the_administrator(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLASHPOINT_ADMIN_PASSWORD")
    at = page().run()
    assert not at.exception
    help_text = " ".join(element.value for element in at.caption)
    assert "ask your administrator" in help_text.lower()
    assert "FLASHPOINT_ADMIN_PASSWORD" not in help_text and "restart" not in help_text
