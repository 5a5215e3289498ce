"""The policy calendar in the store: announcements keep product and URL, every write re-derives
the scheduled shock and is audited, and a version-3 store upgrades with its old announcements.

Every announcement here is SYNTHETIC (made up for the test), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from fetchers.policy_calendar import INDICATOR, SOURCE, Announcement
from flashpoint import store

# SYNTHETIC announcements.
LPG = Announcement("KAZ", "LPG", dt.date(2021, 12, 1), dt.date(2022, 1, 1), 100.0,
                   "https://example.org/decree", "exchange pricing")
DIESEL = Announcement("KAZ", "diesel", dt.date(2021, 12, 5), dt.date(2022, 1, 1), 20.0)


def _shocks(engine: Engine) -> pd.DataFrame:
    return store.read_observations(engine, indicators=[INDICATOR]).set_index(["country", "period"])


def test_add_edit_delete_keep_the_shock_in_step_and_audit_each(store_engine: Engine) -> None:
    lpg_id = store.add_announcement(store_engine, LPG, actor="ana")
    diesel_id = store.add_announcement(store_engine, DIESEL, actor="ana")
    stored = store.read_announcements(store_engine).set_index("id")
    assert stored.loc[lpg_id, "product"] == "LPG"
    assert stored.loc[lpg_id, "source_url"] == "https://example.org/decree"
    assert stored.loc[lpg_id, "note"] == "exchange pricing"
    assert pd.isna(stored.loc[diesel_id, "source_url"])  # not recorded
    key = ("KAZ", pd.Timestamp("2022-01-01"))
    shock = _shocks(store_engine).loc[key]
    assert shock["value"] == 100.0 and shock["source"] == SOURCE
    assert shock["published_at"] == pd.Timestamp("2021-12-01")  # visible from the announcement

    # Editing the LPG change down makes diesel's 20 % the larger one: the shock follows.
    smaller = Announcement("KAZ", "LPG", LPG.announced, LPG.effective, 10.0, LPG.source_url)
    store.update_announcement(store_engine, lpg_id, smaller, actor="bob")
    shock = _shocks(store_engine).loc[key]
    assert shock["value"] == 20.0 and shock["published_at"] == pd.Timestamp("2021-12-05")
    assert store.read_announcements(store_engine).set_index("id").at[lpg_id, "updated_by"] == "bob"

    store.delete_announcement(store_engine, diesel_id, actor="bob")
    assert _shocks(store_engine).loc[key, "value"] == 10.0
    store.delete_announcement(store_engine, lpg_id, actor="ana")
    assert _shocks(store_engine).empty  # no announcement left: no shock, not a 0 % one
    assert store.read_announcements(store_engine).empty

    audit = store.read_audit(store_engine).sort_values("id")
    assert list(audit["action"]) == [
        "announcement_add", "announcement_add", "announcement_edit",
        "announcement_delete", "announcement_delete",
    ]
    assert list(audit["actor"]) == ["ana", "ana", "bob", "bob", "ana"]
    edit = audit.iloc[2]
    assert edit["object"] == f"announcement:{lpg_id}"
    assert edit["old"]["expected_change_pct"] == 100.0
    assert edit["new"]["expected_change_pct"] == 10.0


def test_moving_the_effective_date_moves_the_shock(store_engine: Engine) -> None:
    lpg_id = store.add_announcement(store_engine, LPG, actor="ana")
    later = Announcement("KAZ", "LPG", LPG.announced, dt.date(2022, 2, 1), 100.0)
    store.update_announcement(store_engine, lpg_id, later, actor="ana")
    periods = set(_shocks(store_engine).index.get_level_values("period"))
    assert periods == {pd.Timestamp("2022-02-01")}


def test_duplicates_and_vanished_rows_are_refused_and_change_nothing(
    store_engine: Engine,
) -> None:
    lpg_id = store.add_announcement(store_engine, LPG, actor="ana")
    same_product = Announcement("KAZ", "lpg", dt.date(2021, 12, 2), LPG.effective, 50.0)
    with pytest.raises(store.AnnouncementConflict, match="already recorded"):
        store.add_announcement(store_engine, same_product, actor="ana")
    diesel_id = store.add_announcement(store_engine, DIESEL, actor="ana")
    with pytest.raises(store.AnnouncementConflict, match="another announcement"):
        store.update_announcement(store_engine, diesel_id, same_product, actor="ana")
    with pytest.raises(store.AnnouncementConflict, match="no longer exists"):
        store.delete_announcement(store_engine, lpg_id + 1000, actor="ana")
    assert len(store.read_announcements(store_engine)) == 2
    assert _shocks(store_engine)["value"].tolist() == [100.0]
    assert len(store.read_audit(store_engine)) == 2  # the two adds only


def test_save_is_idempotent_and_reports_changes(store_engine: Engine) -> None:
    first = store.save_announcements(store_engine, [LPG, DIESEL], actor="cli")
    assert (first.announcements.new, first.shocks_written) == (2, 1)
    again = store.save_announcements(store_engine, [LPG, DIESEL], actor="cli")
    assert (again.announcements.unchanged, again.shocks_written) == (2, 0)
    revised = Announcement("KAZ", "LPG", LPG.announced, LPG.effective, 120.0, LPG.source_url)
    third = store.save_announcements(store_engine, [revised], actor="cli")
    assert (third.announcements.changed, third.shocks_written) == (1, 1)
    assert _shocks(store_engine)["value"].tolist() == [120.0]
    assert len(store.read_revisions(store_engine, indicators=[INDICATOR])) == 1


def test_a_version_3_store_upgrades_and_keeps_its_announcement(store_url: str) -> None:
    engine = store.make_engine(store_url)
    try:
        v3 = sa.MetaData()
        for name, table in store.metadata.tables.items():
            if name != "announcements":
                table.to_metadata(v3)
        with engine.begin() as connection:
            v3.create_all(connection)
            connection.execute(store.schema_meta.insert().values(key="schema_version", value="3"))
            connection.execute(
                store.observations.insert().values(
                    indicator=INDICATOR, country="KAZ", period=dt.date(2022, 1, 1), vintage="",
                    value=100.0, unit="%", source=SOURCE, is_forecast=False,
                    published_at=dt.datetime(2021, 12, 1), fetched_at=dt.datetime(2021, 12, 2),
                )
            )
        assert store.init_schema(engine) == store.CURRENT_SCHEMA_VERSION
        (legacy,) = store.read_announcements(engine).itertuples()
        assert legacy.country == "KAZ" and legacy.expected_change_pct == 100.0
        assert legacy.announced == pd.Timestamp("2021-12-01")
        assert legacy.effective == pd.Timestamp("2022-01-01")
        assert pd.isna(legacy.product) and pd.isna(legacy.source_url)  # never stored: unknown
        assert store.init_schema(engine) == store.CURRENT_SCHEMA_VERSION  # re-run: no copy
        assert len(store.read_announcements(engine)) == 1
        # The upgraded row is an ordinary announcement: deleting it removes its shock.
        store.delete_announcement(engine, int(legacy.id), actor="ana")
        assert store.read_observations(engine, indicators=[INDICATOR]).empty
    finally:
        engine.dispose()


def test_an_announcement_recorded_by_an_admin_fires_its_rule_on_the_day_it_was_made(
    sqlite_url: str,
) -> None:
    from flashpoint.alerts import evaluate_alerts
    from flashpoint.config import load_config

    settings = load_config(None)
    assert "KAZ" in settings.general.countries  # the default watched list
    engine = store.make_engine(sqlite_url)
    try:
        store.init_schema(engine)
        store.add_announcement(engine, LPG, actor="ana")
        eve = evaluate_alerts(engine, settings, now=dt.datetime(2021, 11, 30, 12), channels={})
        assert ("price_change_announced", "KAZ") not in eve.firing
        day = evaluate_alerts(engine, settings, now=dt.datetime(2021, 12, 1, 12), channels={})
        assert ("price_change_announced", "KAZ") in day.firing
        # Deleting it (a mistaken entry) leaves nothing for the rule to see afterwards.
        store.delete_announcement(engine, store.read_announcements(engine)["id"].iloc[0].item(),
                                  actor="ana")
        after = evaluate_alerts(engine, settings, now=dt.datetime(2021, 12, 2, 12), channels={})
        assert ("price_change_announced", "KAZ") not in after.firing
    finally:
        engine.dispose()
