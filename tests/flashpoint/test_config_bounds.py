"""Config values that cannot be meant are refused: NaN, infinity and absurd magnitudes in EVERY
numeric key, out-of-bound retries and timeouts, bad UTF-8, a bad store URL. Each gives one line
naming the file, the key and the problem, and exit status 2."""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union

import pytest
from pydantic import BaseModel

from flashpoint import cli
from flashpoint.config import DATABASE_URL_ENV, Settings, load_config
from flashpoint.errors import ConfigError


@dataclass(frozen=True)
class NumericKey:
    """One numeric config key: the document that sets it and the key path the error must name."""

    key_path: str
    kind: type  # int or float
    # Builds the TOML document that puts `value` at this key.
    document: Any


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _numeric_kind(annotation: Any) -> type | None:
    annotation = _unwrap(annotation)
    if annotation is bool:
        return None
    if annotation in (int, float):
        return typing.cast(type, annotation)
    if typing.get_origin(annotation) in (Union, types.UnionType):
        kinds = {_numeric_kind(member) for member in typing.get_args(annotation)} - {None}
        if len(kinds) == 1:
            return kinds.pop()
    return None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The config models a field's annotation holds (a model, its union members)."""
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return [m for member in typing.get_args(annotation) for m in _models_in(member)]
    return []


def _tagged(model: type[BaseModel]) -> dict[str, Any]:
    # A member of a tagged union (notification channels) needs its tag to be selected.
    type_field = model.model_fields.get("type")
    return {"type": type_field.default} if type_field is not None else {}


def numeric_keys(model: type[BaseModel] = Settings, path: str = "") -> Iterator[NumericKey]:
    """Every numeric key reachable from `model`, found by walking the config models' fields.

    Tables become nested dicts, arrays of tables a one-element list, dict-valued tables one
    entry named `x`; `wrap` rebuilds the document around the leaf value.
    """

    def walk(
        current: type[BaseModel], prefix: str, wrap: Any
    ) -> Iterator[NumericKey]:
        for name, field in current.model_fields.items():
            if field.exclude:
                continue
            key_path = f"{prefix}.{name}" if prefix else name
            kind = _numeric_kind(field.annotation)
            if kind is not None:
                yield NumericKey(
                    key_path,
                    kind,
                    lambda value, n=name, w=wrap, m=current: w({**_tagged(m), n: value}),
                )
                continue
            annotation = _unwrap(field.annotation)
            origin = typing.get_origin(annotation)
            args = typing.get_args(annotation)
            if origin is list and args:
                for member in _models_in(args[0]):
                    yield from walk(
                        member,
                        f"{key_path}[0]",
                        lambda inner, n=name, w=wrap, m=current: w({**_tagged(m), n: [inner]}),
                    )
            elif origin is dict and len(args) == 2:
                for member in _models_in(args[1]):
                    yield from walk(
                        member,
                        f"{key_path}.x",
                        lambda inner, n=name, w=wrap, m=current: w(
                            {**_tagged(m), n: {"x": inner}}
                        ),
                    )
            else:
                for member in _models_in(annotation):
                    yield from walk(
                        member,
                        key_path,
                        lambda inner, n=name, w=wrap, m=current: w({**_tagged(m), n: inner}),
                    )

    yield from walk(model, path, lambda inner: inner)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def to_toml(document: dict[str, Any]) -> str:
    """A document as top-level `key = value` lines (inline tables: enough for these tests)."""
    return "".join(f"{key} = {_toml_value(value)}\n" for key, value in document.items())


KEYS = list(numeric_keys())
ABSURD: dict[str, Any] = {"nan": math.nan, "inf": math.inf, "1e300": 1e300}


def test_the_walk_finds_the_numeric_keys_of_every_table() -> None:
    paths = {key.key_path for key in KEYS}
    # One key of each kind of table: plain, per-source, array of tables, nested table, dict of
    # tables, tagged union member; if the walk misses a kind, the parametrised test shrinks.
    for expected in (
        "model.trigger_amplification",
        "sources.fred.max_retries",
        "sources.worldbank.timeout_seconds",
        "indicators[0].weight",
        "indicators[0].normalisation.lower",
        "pillars.x.weight",
        "bands[0].lower",
        "alerts.rules[0].threshold",
        "notifications.channels.x.timeout_seconds",
        "notifications.channels.x.port",
        "dashboard.port",
        "scheduler.jitter_seconds",
    ):
        assert expected in paths
    assert len(KEYS) > 40


@pytest.mark.parametrize("label", list(ABSURD))
@pytest.mark.parametrize("key", KEYS, ids=[key.key_path for key in KEYS])
def test_every_numeric_key_refuses_nan_inf_and_absurd_values(
    key: NumericKey, label: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(to_toml(key.document(ABSURD[label])), encoding="utf-8")

    status = cli.main(["status", "--config", str(config)])

    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 2
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"flashpoint: error: {config}: {key.key_path}: "), lines[0]
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    "key", [key for key in KEYS if key.kind is int], ids=lambda key: key.key_path
)
def test_every_integer_key_refuses_an_absurdly_large_integer(
    key: NumericKey, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(to_toml(key.document(10**18)), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert caught.value.key_path == key.key_path


@pytest.mark.parametrize(
    ("document", "key_path", "words"),
    [
        ({"sources": {"fred": {"max_retries": 1000000000}}}, "sources.fred.max_retries", "10"),
        ({"sources": {"fred": {"max_retries": 11}}}, "sources.fred.max_retries", "10"),
        ({"sources": {"imf": {"timeout_seconds": 3601.0}}}, "sources.imf.timeout_seconds", "3600"),
        (
            {"notifications": {"channels": {"w": {"type": "webhook", "url": "http://h/",
                                                  "timeout_seconds": 7200.0}}}},
            "notifications.channels.w.timeout_seconds",
            "3600",
        ),
        ({"model": {"trigger_amplification": 50.0}}, "model.trigger_amplification", "10"),
        ({"model": {"vulnerability_power": 11.0}}, "model.vulnerability_power", "10"),
        ({"model": {"vulnerability_power": -11.0}}, "model.vulnerability_power", "-10"),
        # A floor of 0 leaves the logarithm and negative powers of a zero pillar undefined.
        ({"model": {"pillar_floor": 0.0}}, "model.pillar_floor", "0.01"),
        ({"model": {"pillar_floor": 6.0}}, "model.pillar_floor", "5"),
    ],
)
def test_bounds_where_a_value_can_only_be_absurd(
    document: dict[str, Any], key_path: str, words: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(to_toml(document), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert caught.value.key_path == key_path
    assert words in caught.value.problem


def test_values_at_the_bounds_are_accepted(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    document = {
        "sources": {"fred": {"max_retries": 10, "timeout_seconds": 3600.0}},
        "model": {"trigger_amplification": 10.0, "vulnerability_power": -10.0,
                  "pillar_floor": 5.0},
    }
    config.write_text(to_toml(document), encoding="utf-8")
    settings = load_config(config)
    assert settings.sources.fred.max_retries == 10
    assert settings.sources.fred.timeout_seconds == 3600.0
    # The aggregation keys reach the catalogue scoring reads.
    model = settings.catalogue().model
    assert (model.vulnerability_power, model.pillar_floor) == (-10.0, 5.0)


def test_invalid_utf8_names_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b'[dashboard]\ntitle = "Caf\xe9"\n')  # Latin-1 e-acute

    status = cli.main(["status", "--config", str(config)])

    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err == (
        f"flashpoint: error: {config}: line 2, column 13: byte 0xe9 is not valid UTF-8 "
        "(TOML files must be UTF-8; re-save the file as UTF-8)"
    )


@pytest.mark.parametrize(
    "url", ["not a url", "postgres://user:hunter2-secret@db/flashpoint", "mysql://u@h/db"]
)
def test_bad_store_url_names_file_and_key_without_echoing_it(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(to_toml({"store": {"url": url}}), encoding="utf-8")

    status = cli.main(["status", "--config", str(config)])

    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith(f"flashpoint: error: {config}: store.url: "), err
    assert len(err.splitlines()) == 1
    assert "hunter2-secret" not in err


def test_bad_database_url_in_environment_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://user:pw-in-env@db:notaport/x")

    status = cli.main(["status", "--config", str(config)])

    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith(f"flashpoint: error: ${DATABASE_URL_ENV}: "), err
    assert "pw-in-env" not in err
