"""Alerts: rules with their state, history, silences and delivery failures; admins edit rules.

Everybody sees the rules (the editor is shown read-only to viewers). Every write — save, enable,
disable, reset to config, delete, silence — checks `flashpoint.auth.current_admin` on the server
right before writing: hidden or disabled widgets are not a permission, and a session flag a
crafted request could set is not one either (the admin token is HMAC-signed by this process).
Text from rules, sources and users is shown with `escape_markdown` or in data frames, never as
HTML.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import admin as admin_session
from dashboard import data
from dashboard.formatting import escape_markdown, for_viewers
from flashpoint import alerts
from indicators.alert_rules import (
    ALLOWED_TARGETS,
    AlertRule,
    Condition,
    FieldError,
    RuleKind,
    Severity,
)

KINDS: tuple[RuleKind, ...] = ("level", "change", "spike", "stale", "band_change")
CONDITIONS: tuple[Condition, ...] = ("above", "below")
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
NEW_RULE = "➕ New rule"
ANY = "(any)"
STATE_BADGES = {
    "firing": "🔴 firing",
    "pending": "🟠 pending",
    "resolved": "🟢 resolved",
    "ok": "⚪ ok",
}

settings = data.get_settings()
engine = data.get_engine()
catalogue = data.get_catalogue()
channel_names = list(settings.notifications.channels)
indicator_titles = {item.id: item.name for item in catalogue.indicators}
pillar_titles = {pillar.id: pillar.name for pillar in catalogue.pillars}


# --------------------------------------------------------------------------------------------
# Who is this? (the login panel and the server-side check are shared with the Announcements page)


def current_admin() -> str | None:
    """The admin acting in this session, checked server-side (call right before every write)."""
    return admin_session.current_admin()


def _refuse() -> None:
    st.error(
        "Only an admin can change alert rules and silences. Log in as admin first; nothing was "
        "changed.",
        icon=":material/lock:",
    )


def _show_errors(errors: list[FieldError]) -> None:
    for error in errors:
        st.error(
            f"**{escape_markdown(error.field)}**: {escape_markdown(error.message)}",
            icon=":material/error:",
        )


admin = current_admin()
admin_session.login_panel(admin, what="edit rules and silences")

# --------------------------------------------------------------------------------------------
# Data for the page (read fresh on every run: small tables, and edits must show at once)

entries = alerts.load_rule_entries(engine, settings)
states = alerts.read_alert_states(engine)
silences = alerts.read_silences(engine, active_only=True)
notifications = alerts.read_notifications(engine, limit=500)
failures = notifications[notifications["status"].isin(["failed", "sending"])]

st.title("Alerts")
st.caption(
    "Rules are evaluated for every watched country after each refresh "
    "(`flashpoint alerts evaluate`). A rule fires after its pending period, resolves only past "
    "its recovery threshold, re-notifies while firing, and silences mute notifications but not "
    "the history. Defaults live in config.toml; admins' edits are stored, audited and override "
    "them."
)
st.info(
    "**Alerts follow the watched countries:** "
    + escape_markdown(", ".join(data.country_label(code) for code in data.watched_countries()))
    + ". Every other country can be opened from the sidebar, but raises no alert. To watch "
    "another country, add its ISO3 code to `countries` under `[general]` in config.toml (ask "
    "your administrator); its alerts are evaluated from the next refresh on.",
    icon=":material/visibility:",
)
firing = states[states["state"] == "firing"] if not states.empty else states
pending = states[states["state"] == "pending"] if not states.empty else states
metrics = st.columns(4)
if states.empty:
    # Nothing evaluated yet is not "0 firing": say so.
    metrics[0].metric("Firing", "never evaluated")
    metrics[1].metric("Pending", "never evaluated")
    st.info(
        "**The alert rules have never been evaluated on this store.** They run after each "
        'refresh and under the scheduler; until then nothing here means "calm".',
        icon=":material/hourglass_empty:",
    )
else:
    metrics[0].metric("Firing", len(firing))
    metrics[1].metric("Pending", len(pending))
    last_evaluated = pd.to_datetime(states["last_evaluated_at"]).max()
    if pd.notna(last_evaluated):
        st.caption(f"Rules last evaluated {pd.Timestamp(last_evaluated):%d %b %Y %H:%M} UTC.")
metrics[2].metric("Silences in force", len(silences))
metrics[3].metric("Failed notifications", int((notifications["status"] == "failed").sum()))
if not failures.empty:
    st.warning(
        f"{len(failures)} notification(s) could not be delivered — see the Notifications tab.",
        icon=":material/notifications_off:",
    )

tabs = st.tabs(["Rules and state", "History", "Silences", "Notifications"])

# --------------------------------------------------------------------------------------------
# Rules and state


def _countries_in(state: str, rule_id: str) -> str:
    if states.empty:
        return ""
    chosen = states[(states["rule_id"] == rule_id) & (states["state"] == state)]
    return ", ".join(sorted(chosen["country"].astype(str)))


def _rules_table() -> pd.DataFrame:
    rows = []
    for entry in entries:
        rule = entry.rule
        rows.append(
            {
                "Rule": rule.id,
                "Name": rule.title,
                "Kind": rule.kind,
                "Target": target_in_words(rule.target),
                "Condition": rule.condition,
                "Threshold": rule.threshold,
                "Recovery": rule.recovery,
                "Band margin": rule.margin if rule.kind == "band_change" else None,
                "Pending evals": rule.pending_evaluations,
                "Re-notify (h)": rule.renotify_hours,
                "Severity": rule.severity,
                "Channels": ", ".join(rule.channels),
                "Enabled": "deleted" if entry.deleted else ("yes" if rule.enabled else "no"),
                "Origin": entry.origin,
                "Firing": _countries_in("firing", rule.id),
                "Pending": _countries_in("pending", rule.id),
                "Edited by": entry.updated_by,
                "Edited at": entry.updated_at,
                "Problem": entry.problem,
            }
        )
    return pd.DataFrame(rows)


def target_in_words(target: str) -> str:
    """What a rule watches, by name ("Fuel-price step", "Composite score"), not its internal id."""
    kind, _, name = target.partition(":")
    if kind == "composite":
        return "Composite score"
    if kind == "indicator":
        return indicator_titles.get(name, name)
    if kind == "pillar":
        return f"{pillar_titles.get(name, name)} (pillar)"
    if kind == "source":
        return "any source's freshness" if name == "*" else f"freshness of the {name} source"
    return target


def _field_key(rule_id: str, name: str) -> str:
    return f"rule_{rule_id or 'new'}_{name}"


def _rule_editor(rule: AlertRule | None, is_admin: bool) -> None:
    """The rule form: editable for admins, read-only for viewers; saving re-checks the admin."""
    current = rule or AlertRule(id="", channels=tuple(channel_names[:1]))
    rid = rule.id if rule is not None else ""

    def key(name: str) -> str:
        return _field_key(rid, name)

    locked = not is_admin
    with st.form(f"rule_form_{rid or 'new'}", border=True):
        first = st.columns(3)
        rule_id = first[0].text_input(
            "Rule id",
            value=current.id,
            key=key("id"),
            disabled=locked or rule is not None,
            help="Lower-case letters, digits and underscores; cannot change once saved.",
        )
        name = first[1].text_input("Name", value=current.name, key=key("name"), disabled=locked)
        severity = first[2].selectbox(
            "Severity",
            SEVERITIES,
            index=SEVERITIES.index(current.severity),
            key=key("severity"),
            disabled=locked,
        )
        second = st.columns(3)
        kind = second[0].selectbox(
            "Kind", KINDS, index=KINDS.index(current.kind), key=key("kind"), disabled=locked
        )
        target = second[1].text_input(
            "Target",
            value=current.target,
            key=key("target"),
            disabled=locked,
            help="composite, pillar:<id>, indicator:<id> or source:<name> / source:* — "
            + "; ".join(f"{k}: {', '.join(v)}" for k, v in ALLOWED_TARGETS.items()),
        )
        scope = second[2].text_input(
            "Scope",
            value=", ".join(current.scope),
            key=key("scope"),
            disabled=locked,
            help='ISO3 codes separated by commas, or "watched" for every watched country.',
        )
        third = st.columns(5)
        condition = third[0].selectbox(
            "Condition",
            CONDITIONS,
            index=CONDITIONS.index(current.condition),
            key=key("condition"),
            disabled=locked,
        )
        threshold = third[1].text_input(
            "Threshold",
            value="" if current.threshold is None else f"{current.threshold:g}",
            key=key("threshold"),
            disabled=locked,
            help="Level, % change, z-score, days or bands, by kind.",
        )
        recovery = third[2].text_input(
            "Recovery",
            value="" if current.recovery is None else f"{current.recovery:g}",
            key=key("recovery"),
            disabled=locked,
            help="Resolve only once back past this value (≤ threshold for above, ≥ for below). "
            "Empty: resolve at the threshold.",
        )
        window = third[3].number_input(
            "Window (days)",
            min_value=1,
            value=int(current.window_days),
            step=1,
            key=key("window_days"),
            disabled=locked,
        )
        margin = third[4].text_input(
            "Band margin (points)",
            value=f"{current.margin:g}",
            key=key("margin"),
            disabled=locked,
            help="band_change only: how far inside the new band the composite must be before a "
            "move counts, so a score at a band's edge does not ring on every wobble. 0 for "
            "other kinds.",
        )
        fourth = st.columns(4)
        pending_evaluations = fourth[0].number_input(
            "Pending evaluations",
            min_value=1,
            value=int(current.pending_evaluations),
            step=1,
            key=key("pending_evaluations"),
            disabled=locked,
        )
        renotify = fourth[1].number_input(
            "Re-notify every (hours, 0 = never)",
            min_value=0.0,
            value=float(current.renotify_hours),
            step=1.0,
            key=key("renotify_hours"),
            disabled=locked,
        )
        chosen_channels = fourth[2].multiselect(
            "Channels",
            options=sorted(set(channel_names) | set(current.channels)),
            default=list(current.channels),
            key=key("channels"),
            disabled=locked,
        )
        enabled = fourth[3].checkbox(
            "Enabled", value=current.enabled, key=key("enabled"), disabled=locked
        )
        description = st.text_input(
            "Description", value=current.description, key=key("description"), disabled=locked
        )
        submitted = st.form_submit_button(
            "Save rule" if rule is not None else "Create rule",
            disabled=locked,
            type="primary",
        )
    if not submitted:
        return
    actor = current_admin()  # re-checked on the server at the moment of writing
    if actor is None:
        _refuse()
        return
    definition = {
        "id": rule.id if rule is not None else rule_id,
        "name": name,
        "description": description,
        "kind": kind,
        "target": target,
        "scope": scope,
        "condition": condition,
        "threshold": threshold,
        "recovery": recovery,
        "window_days": window,
        "margin": margin,
        "pending_evaluations": pending_evaluations,
        "renotify_hours": renotify,
        "severity": severity,
        "channels": list(chosen_channels),
        "enabled": bool(enabled),
    }
    if rule is None and any(entry.rule.id == rule_id.strip() for entry in entries):
        _show_errors([FieldError("id", f"a rule {rule_id.strip()!r} already exists")])
        return
    errors = alerts.save_rule(engine, settings, definition, actor=actor)
    if errors:
        _show_errors(errors)
        st.info("Nothing was saved.", icon=":material/info:")
        return
    st.session_state["alerts_flash"] = f"Rule {definition['id']} saved by {actor}."
    st.rerun()


def _rule_actions(entry: alerts.RuleEntry, is_admin: bool) -> None:
    rule = entry.rule
    buttons = st.columns(3)
    toggle = buttons[0].button(
        "Disable rule" if rule.enabled else "Enable rule",
        key=f"toggle_{rule.id}",
        disabled=not is_admin or entry.deleted,
    )
    reset = buttons[1].button(
        "Reset to config" if entry.config_rule is not None else "Delete dashboard rule",
        key=f"reset_{rule.id}",
        disabled=not is_admin or entry.origin == "config",
        help="Drop the dashboard's edits: the rule from config.toml applies again.",
    )
    delete = buttons[2].button(
        "Delete rule",
        key=f"delete_{rule.id}",
        disabled=not is_admin or entry.deleted or entry.config_rule is None,
        help="A deleted config rule stays deleted until it is reset to config.",
    )
    if not (toggle or reset or delete):
        return
    actor = current_admin()
    if actor is None:
        _refuse()
        return
    if toggle:
        errors = alerts.set_rule_enabled(engine, settings, rule.id, not rule.enabled, actor=actor)
        if errors:
            _show_errors(errors)
            return
        message = f"Rule {rule.id} {'disabled' if rule.enabled else 'enabled'} by {actor}."
    elif reset:
        alerts.reset_rule_to_config(engine, settings, rule.id, actor=actor)
        message = f"Rule {rule.id} reset to config by {actor}."
    else:
        alerts.delete_rule(engine, settings, rule.id, actor=actor)
        message = f"Rule {rule.id} deleted by {actor}."
    st.session_state["alerts_flash"] = message
    st.rerun()


with tabs[0]:
    flash = st.session_state.pop("alerts_flash", None)
    if flash:
        st.success(escape_markdown(flash), icon=":material/check_circle:")
    st.dataframe(for_viewers(_rules_table()), hide_index=True, width="stretch")

    st.subheader("Instances")
    show_all = st.toggle("Show ok instances too", value=False, key="alerts_show_ok")
    shown = states if show_all or states.empty else states[states["state"] != "ok"]
    if shown.empty:
        st.caption("No instance is firing, pending or resolved.")
    else:
        table = shown.assign(state=shown["state"].map(STATE_BADGES).fillna(shown["state"]))
        st.dataframe(for_viewers(table), hide_index=True, width="stretch")

    st.subheader("Edit rules" if admin else "Rule definitions (read-only)")
    if admin is None:
        st.caption("Viewers see the definitions; log in as admin (sidebar) to change them.")
    options = [entry.rule.id for entry in entries] + ([NEW_RULE] if admin else [])
    choice = st.selectbox("Rule", options, key="alerts_rule_choice")
    chosen_entry = next((entry for entry in entries if entry.rule.id == choice), None)
    if chosen_entry is not None and chosen_entry.problem:
        st.warning(escape_markdown(chosen_entry.problem), icon=":material/warning:")
    _rule_editor(chosen_entry.rule if chosen_entry is not None else None, admin is not None)
    if chosen_entry is not None:
        _rule_actions(chosen_entry, admin is not None)

# --------------------------------------------------------------------------------------------
# History

with tabs[1]:
    filters = st.columns(3)
    rule_filter = filters[0].selectbox(
        "Rule", [ANY, *[entry.rule.id for entry in entries]], key="alerts_history_rule"
    )
    country_filter = filters[1].selectbox(
        "Country", [ANY, *data.watched_countries(), "WLD"], key="alerts_history_country"
    )
    limit = filters[2].number_input(
        "Rows", min_value=10, max_value=5000, value=200, step=50, key="alerts_history_limit"
    )
    history = alerts.read_alert_events(
        engine,
        rule_id=None if rule_filter == ANY else rule_filter,
        country=None if country_filter == ANY else country_filter,
        limit=int(limit),
    )
    if history.empty:
        st.caption("No alert history yet: run `flashpoint alerts evaluate` (the scheduler does).")
    else:
        st.dataframe(history, hide_index=True, width="stretch")

# --------------------------------------------------------------------------------------------
# Silences

with tabs[2]:
    show_ended = st.toggle("Show ended silences", value=False, key="alerts_show_ended")
    listed = alerts.read_silences(engine, active_only=not show_ended)
    if listed.empty:
        st.caption("No silence in force.")
    else:
        st.dataframe(listed, hide_index=True, width="stretch")

    st.subheader("Add a silence" if admin else "Silences (read-only)")
    locked = admin is None
    with st.form("silence_form", clear_on_submit=False):
        columns = st.columns(4)
        silence_rule = columns[0].selectbox(
            "Rule",
            [ANY, *[entry.rule.id for entry in entries]],
            key="silence_rule",
            disabled=locked,
        )
        silence_country = columns[1].selectbox(
            "Country", [ANY, *data.watched_countries()], key="silence_country", disabled=locked
        )
        today = dt.datetime.now(dt.UTC).date()
        until_day = columns[2].date_input(
            "Until (UTC day)", value=today + dt.timedelta(days=7), key="silence_until_day",
            disabled=locked,
        )  # fmt: skip
        until_time = columns[3].time_input(
            "at (UTC)", value=dt.time(0, 0), key="silence_until_time", disabled=locked
        )
        comment = st.text_input("Why (required)", key="silence_comment", disabled=locked)
        add = st.form_submit_button("Add silence", disabled=locked)
    if add:
        actor = current_admin()
        if actor is None:
            _refuse()
        else:
            if silence_rule == ANY and silence_country == ANY:
                _show_errors([FieldError("rule_id", "choose a rule, a country or both")])
            else:
                until = dt.datetime.combine(until_day, until_time)
                silence_id, errors = alerts.add_silence(
                    engine,
                    settings,
                    rule_id=None if silence_rule == ANY else silence_rule,
                    country=None if silence_country == ANY else silence_country,
                    until=until,
                    comment=comment,
                    actor=actor,
                )
                if errors:
                    _show_errors(errors)
                else:
                    st.session_state["alerts_flash"] = f"Silence {silence_id} added by {actor}."
                    st.rerun()

    active = alerts.read_silences(engine, active_only=True)
    if not active.empty:
        ending = st.columns([2, 1])
        to_end = ending[0].selectbox(
            "End a silence now",
            active["id"].astype(int).tolist(),
            key="silence_to_end",
            disabled=locked,
        )
        if ending[1].button("End silence", key="silence_end", disabled=locked):
            actor = current_admin()
            if actor is None:
                _refuse()
            else:
                alerts.expire_silence(engine, int(to_end), actor=actor)
                st.session_state["alerts_flash"] = f"Silence {to_end} ended by {actor}."
                st.rerun()

# --------------------------------------------------------------------------------------------
# Notifications

with tabs[3]:
    st.caption(
        "Every delivery attempt per channel. Failed deliveries were retried with backoff; "
        "`sending` rows are in flight (or were interrupted and will never be re-sent, to avoid "
        "a duplicate). Test a channel with `flashpoint alerts test-channel NAME`."
    )
    if failures.empty:
        st.success("No failed notification.", icon=":material/check_circle:")
    else:
        st.error(f"{len(failures)} failed or interrupted notification(s)", icon=":material/error:")
        st.dataframe(failures, hide_index=True, width="stretch")
    st.subheader("All recent notifications")
    if notifications.empty:
        st.caption("Nothing was sent yet.")
    else:
        st.dataframe(notifications, hide_index=True, width="stretch")
