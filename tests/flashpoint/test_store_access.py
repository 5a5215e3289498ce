"""Readers open the store read-only and never take the write lock; writers create and upgrade it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from flashpoint import store
from flashpoint.cli import main
from flashpoint.errors import StoreError

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "config.toml"


def _frame(value: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator": ["ind_a", "ind_a"],
            "country": ["KAZ", "UZB"],
            "period": pd.to_datetime(["2024-01-01", "2024-01-01"]),
            "value": [value, value + 1],
            "unit": "%",
            "source": "test",
        }
    )


def _sqlite_path(url: str) -> Path:
    return Path(sa.make_url(url).database or "")


def test_reading_a_missing_sqlite_store_says_so_and_creates_nothing(sqlite_url: str) -> None:
    with pytest.raises(store.StoreNotReadyError) as caught:
        store.open_for_reading(sqlite_url)
    assert caught.value.kind == "missing"
    assert "flashpoint init" in str(caught.value) and "\n" not in str(caught.value)
    assert not _sqlite_path(sqlite_url).exists()


def test_reading_a_store_without_schema_does_not_create_it(store_url: str) -> None:
    store.make_engine(store_url).dispose()  # the database exists, with no tables
    with pytest.raises(store.StoreNotReadyError) as caught:
        store.open_for_reading(store_url)
    assert caught.value.kind == "uninitialised"
    engine = store.make_engine(store_url)
    try:
        assert store.read_schema_version(engine) is None
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_an_older_schema_is_reported_not_upgraded_by_a_reader(store_url: str) -> None:
    writer = store.open_for_writing(store_url)
    try:
        with store.begin_write(writer) as connection:
            connection.execute(
                store.schema_meta.update()
                .where(store.schema_meta.c.key == "schema_version")
                .values(value=str(store.CURRENT_SCHEMA_VERSION - 1))
            )
    finally:
        writer.dispose()
    with pytest.raises(store.StoreNotReadyError) as caught:
        store.open_for_reading(store_url)
    assert caught.value.kind == "outdated"
    assert "run `flashpoint init` to upgrade it" in str(caught.value)
    check = store.make_engine(store_url)
    try:
        assert store.read_schema_version(check) == store.CURRENT_SCHEMA_VERSION - 1
    finally:
        check.dispose()


def test_a_read_only_engine_refuses_writes(store_url: str) -> None:
    store.open_for_writing(store_url).dispose()
    reader = store.open_for_reading(store_url)
    try:
        with pytest.raises(SQLAlchemyError):
            store.upsert_observations(reader, _frame())
        with pytest.raises(SQLAlchemyError), reader.begin() as connection:
            connection.execute(store.schema_meta.insert().values(key="x", value="y"))
        assert store.is_empty(reader)
    finally:
        reader.dispose()


def test_explicit_writes_engine_writes_only_in_begin_write(store_url: str) -> None:
    store.open_for_writing(store_url).dispose()
    engine = store.open_for_reading(store_url, explicit_writes=True)
    try:
        with pytest.raises(SQLAlchemyError), engine.begin() as connection:
            connection.execute(store.schema_meta.insert().values(key="x", value="y"))
        counts = store.upsert_observations(engine, _frame())  # a begin_write transaction
        assert counts.new == 2
        # Reads after a write are read-only again on the same pooled connection.
        with pytest.raises(SQLAlchemyError), engine.begin() as connection:
            connection.execute(store.schema_meta.insert().values(key="x", value="y"))
        assert len(store.read_observations(engine)) == 2
    finally:
        engine.dispose()


def test_reads_go_on_while_another_connection_holds_the_write_lock(sqlite_url: str) -> None:
    writer = store.open_for_writing(sqlite_url)
    store.upsert_observations(writer, _frame(1.0))
    try:
        with store.begin_write(writer) as connection:
            # The write lock is held (BEGIN IMMEDIATE) and a change is pending, uncommitted.
            store.upsert_observations(connection, _frame(5.0))
            reader = store.open_for_reading(sqlite_url)
            try:
                assert store.read_observations(reader)["value"].tolist() == [1.0, 2.0]
            finally:
                reader.dispose()
            # The old way of opening (schema initialisation) needs the lock this holds.
            raw = sqlite3.connect(_sqlite_path(sqlite_url), timeout=0)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    raw.execute("BEGIN IMMEDIATE")
            finally:
                raw.close()
    finally:
        writer.dispose()


def _busy() -> OperationalError:
    # Synthetic fault: the driver's own busy error, wrapped the way SQLAlchemy raises it.
    return OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))


def test_retry_busy_retries_a_bounded_number_of_times_and_reports_each_wait() -> None:
    answers: list[object] = [_busy(), _busy(), "read"]
    reports: list[str] = []
    waits: list[float] = []

    def operation() -> object:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    result = store.retry_busy(
        operation, what="scoring", report=reports.append, sleep=waits.append, first_wait=0.5
    )
    assert result == "read"
    assert waits == [0.5, 1.0]
    assert reports == [
        "store busy while scoring; retrying in 0.5 s (attempt 2 of 5)",
        "store busy while scoring; retrying in 1.0 s (attempt 3 of 5)",
    ]


def test_retry_busy_gives_up_with_one_line() -> None:
    calls: list[int] = []

    def operation() -> None:
        calls.append(1)
        raise _busy()

    with pytest.raises(StoreError) as caught:
        store.retry_busy(operation, what="scoring", attempts=3, sleep=lambda _s: None)
    assert len(calls) == 3
    assert str(caught.value) == (
        "the store stayed busy while scoring (3 attempts): database is locked"
    )


def test_retry_busy_does_not_retry_other_errors() -> None:
    calls: list[int] = []

    def operation() -> None:
        calls.append(1)
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x"))

    with pytest.raises(OperationalError):
        store.retry_busy(operation, what="scoring", sleep=lambda _s: None)
    assert calls == [1]


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["export", "--output", "-"],
        ["alerts", "list"],
        ["score", "--country", "KAZ"],
    ],
)
def test_read_only_commands_never_upgrade_an_older_store(
    argv: list[str],
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FLASHPOINT_DATABASE_URL", sqlite_url)
    writer = store.open_for_writing(sqlite_url)
    try:
        with store.begin_write(writer) as connection:
            connection.execute(
                store.schema_meta.update()
                .where(store.schema_meta.c.key == "schema_version")
                .values(value="2")
            )
    finally:
        writer.dispose()
    code = main([*argv, "--config", str(CONFIG)])
    captured = capsys.readouterr()
    said = captured.out + captured.err
    assert "run `flashpoint init` to upgrade it" in said
    assert "Traceback" not in said
    if argv != ["status"]:
        assert code == 1
        assert len(captured.err.strip().splitlines()) == 1
    check = store.make_engine(sqlite_url)
    try:
        assert store.read_schema_version(check) == 2
    finally:
        check.dispose()


@pytest.mark.parametrize("argv", [["export", "--output", "-"], ["alerts", "list"]])
def test_read_only_commands_on_a_missing_store_say_so_in_one_line(
    argv: list[str],
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FLASHPOINT_DATABASE_URL", sqlite_url)
    code = main([*argv, "--config", str(CONFIG)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("flashpoint: error: no store at ")
    assert len(captured.err.strip().splitlines()) == 1
    assert not _sqlite_path(sqlite_url).exists()
