"""Error messages: pydantic and TOML errors turned into `<file>: <key.path>: <problem>`."""

from __future__ import annotations

import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError

from flashpoint.config.settings import Settings
from flashpoint.errors import ConfigError


def _toml_syntax_error(shown: str, error: tomllib.TOMLDecodeError) -> ConfigError:
    message = str(error)
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if message.endswith("(at end of document)"):
        problem = message[: -len("(at end of document)")].rstrip()
        return ConfigError(shown, "end of file", f"invalid TOML: {problem}")
    if match:
        problem = message[: match.start()]
        return ConfigError(
            shown, f"line {match.group(1)}, column {match.group(2)}", f"invalid TOML: {problem}"
        )
    return ConfigError(shown, "", f"invalid TOML: {message}")


def _validation_error(
    shown: str, document: Mapping[str, Any], error: ValidationError
) -> ConfigError:
    details = error.errors(include_url=False)
    first = details[0]
    key_path = format_key_path(document, first["loc"])
    if str(first["type"]).startswith("union_tag"):
        key_path += ".type"  # the tag itself is the offending key
    problem = _describe(first, Settings, first["loc"])
    if len(details) > 1:
        problem += f" (and {len(details) - 1} more problem(s))"
    return ConfigError(shown, key_path, problem)


def format_key_path(document: Any, loc: Sequence[int | str]) -> str:
    """Turn a pydantic `loc` into the TOML key path, e.g. `indicators[3].normalisation.lower`.

    The raw document is walked alongside, so segments pydantic adds that are not TOML keys
    (the tag of a tagged union such as a channel's `email`) are dropped.
    """
    parts: list[str] = []
    node: Any = document
    for position, segment in enumerate(loc):
        is_last = position == len(loc) - 1
        if isinstance(segment, int) and isinstance(node, list):
            parts.append(f"[{segment}]")
            node = node[segment] if segment < len(node) else None
            continue
        key = str(segment)
        if isinstance(node, dict):
            if key in node:
                parts.append(key if not parts else f".{key}")
                node = node[key]
                continue
            if not is_last and node.get("type") == key:
                continue  # the tagged-union tag
        elif not is_last and node is not None:
            continue  # a union member's name inside a scalar or list value
        parts.append(key if not parts else f".{key}")
        node = None
    return "".join(parts)


def _describe(detail: Mapping[str, Any], root: type[BaseModel], loc: Sequence[int | str]) -> str:
    kind = detail["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(root, loc[:-1])
        if f"{key}_env" in allowed:
            return (
                f"unknown key {key!r}: secrets are never written in the config; set "
                f"`{key}_env` to the NAME of an environment variable holding it"
            )
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key {key!r}{hint}"
    message = str(detail["msg"])
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        context = detail.get("ctx", {})
        return (
            f"unknown type {context.get('tag')!r} (expected one of {context.get('expected_tags')})"
        )
    if kind.startswith("union_tag"):
        return message
    if "input" in detail and not isinstance(detail["input"], dict | list):
        shown = repr(detail["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        if kind != "flashpoint_config":
            message += f" (got {shown})"
    return message


def _allowed_keys(root: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Field names of the model found at `loc` under `root` (empty if it cannot be told)."""
    annotation: Any = root
    for segment in loc:
        model = _as_model(annotation)
        if model is not None:
            field = model.model_fields.get(str(segment))
            if field is None:
                return []
            annotation = field.annotation
            continue
        annotation = _step_into(annotation, segment)
        if annotation is None:
            return []
    model = _as_model(annotation)
    if model is None:
        return []
    return [name for name, field in model.model_fields.items() if not field.exclude]


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _step_into(annotation: Any, segment: int | str) -> Any:
    """Follow one loc segment through list/dict/Annotated/Union annotations."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return _step_into(args[0], segment)
    if origin is list:
        return args[0] if isinstance(segment, int) else None
    if origin is dict:
        return args[1]
    if origin in (Union, types.UnionType):
        for member in args:
            model = _unwrap_annotated(member)
            if isinstance(model, type) and issubclass(model, BaseModel):
                type_field = model.model_fields.get("type")
                if type_field is not None and type_field.default == segment:
                    return model
        return None
    return None


def _unwrap_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation
