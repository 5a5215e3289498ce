"""`flashpoint import` streams its file in chunks: same result, duplicates across chunks named."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from fetchers import analyst_stream
from flashpoint import cli
from flashpoint.config import CONFIG_ENV, DATABASE_URL_ENV
from flashpoint.store import read_observations

HEADER = "indicator,country,period,value,unit\n"


def _rows(count: int, *, bump: float = 0.0) -> list[str]:
    return [
        f"fuel_lpg_retail,KAZ,2021-{1 + day // 28:02d}-{1 + day % 28:02d},"
        f"{50 + day + bump},KZT/litre\n"
        for day in range(count)
    ]


@pytest.fixture
def configured(
    tmp_path: Path, store_engine: Engine, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Engine]:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv(DATABASE_URL_ENV, store_url)
    # Three rows per chunk, so a small file crosses many chunk boundaries.
    monkeypatch.setattr(analyst_stream, "CHUNK_ROWS", 3)
    config = tmp_path / "config.toml"
    config.write_text('[general]\ndata_dir = "data"\n', encoding="utf-8")
    return config, store_engine


def _import(config: Path, path: Path) -> int:
    return cli.main(["import", str(path), "--config", str(config)])


def test_a_file_of_many_chunks_imports_whole_then_unchanged_then_revised(
    tmp_path: Path, configured: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = configured
    path = tmp_path / "series.csv"
    path.write_text(HEADER + "".join(_rows(20)), encoding="utf-8")
    assert _import(config, path) == 0
    out = capsys.readouterr().out
    assert "20 new, 0 changed, 0 unchanged (20 observations from 20 rows)" in out
    stored = read_observations(engine)
    assert stored["value"].tolist() == [50.0 + day for day in range(20)]
    assert _import(config, path) == 0
    assert "0 new, 0 changed, 20 unchanged" in capsys.readouterr().out
    path.write_text(HEADER + "".join(_rows(20, bump=1.0)), encoding="utf-8")
    assert _import(config, path) == 0
    assert "0 new, 20 changed, 0 unchanged" in capsys.readouterr().out


def test_a_duplicate_in_a_later_chunk_is_named_and_nothing_is_written(
    tmp_path: Path, configured: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = configured
    rows = _rows(10)
    path = tmp_path / "dup.csv"
    path.write_text(HEADER + "".join(rows) + rows[1], encoding="utf-8")  # row 3 again, at 12
    assert _import(config, path) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err == (
        f"flashpoint: error: {path}: row 12, column period: duplicate of row 3 "
        "(fuel_lpg_retail, KAZ, 2021-01-02) (nothing was imported)"
    )
    assert read_observations(engine).empty


def test_a_bad_row_in_a_later_chunk_writes_nothing_from_earlier_chunks(
    tmp_path: Path, configured: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = configured
    rows = _rows(10)
    rows[8] = "fuel_lpg_retail,KAZ,2021-02-01,n/a,KZT/litre\n"
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    assert _import(config, path) != 0
    err = capsys.readouterr().err
    assert f"{path}: row 10, column value: 'n/a' is not a number" in err
    assert read_observations(engine).empty


def test_a_byte_that_is_not_utf8_is_named_by_its_row(
    tmp_path: Path, configured: tuple[Path, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    config, engine = configured
    path = tmp_path / "latin1.csv"
    text = HEADER + "".join(_rows(6)) + "fuel_lpg_retail,KAZ,2021-03-01,55,KZT/litré\n"
    path.write_bytes(text.encode("latin-1"))
    assert _import(config, path) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        f"flashpoint: error: {path}: row 8, column unit: byte 0xe9 is not UTF-8 text"
    )
    assert read_observations(engine).empty
