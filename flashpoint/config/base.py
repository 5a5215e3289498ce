"""The base of every config model, and the validated field types the tables share."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from indicators.countries import iso3_countries

WATCHED = "watched"

# No number in a config means anything beyond this magnitude (the largest meaningful values are
# alert thresholds on raw indicator values). Fields with a natural limit carry a tighter bound.
MAX_MAGNITUDE = 1e12
MAX_TIMEOUT_SECONDS = 3600.0  # one hour: a longer wait for one request is a mistake
MAX_RETRIES = 10


def _custom_error(message: str) -> PydanticCustomError:
    # A custom error keeps pydantic from prefixing "Value error, " to our message.
    return PydanticCustomError("flashpoint_config", message)


def _check_iso3(value: str) -> str:
    if value not in iso3_countries():
        raise _custom_error(f"unknown country code {value!r} (expected an ISO3 code such as 'KAZ')")
    return value


def _check_cron(value: str) -> str:
    # Imported here: apscheduler is only needed to validate, and pulls in tzlocal at import.
    from flashpoint.schedules import parse_schedule

    try:
        parse_schedule(value, timezone="UTC")
    except ValueError as error:
        raise _custom_error(
            f"invalid schedule {value!r}: expected a crontab line (minute hour day month "
            f"weekday) or an interval such as 'every 15m': {error}"
        ) from error
    return value


def _check_env_name(value: str) -> str:
    if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise _custom_error(
            f"{value!r} is not an environment variable name: give the NAME of the variable that "
            "holds the secret, never the secret itself"
        )
    return value


def _check_identifier(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
        raise _custom_error(
            f"{value!r} is not a valid id (lower-case letters, digits and underscores, "
            "starting with a letter)"
        )
    return value


def _check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _custom_error(
            f"unknown timezone {value!r} (use an IANA name such as 'UTC' or 'Asia/Almaty')"
        ) from None
    return value


def _scope_from_toml(value: object) -> object:
    # `scope = "watched"` is accepted as shorthand for `scope = ["watched"]`.
    return [value] if isinstance(value, str) else value


def _check_scope_item(value: str) -> str:
    return value if value == WATCHED else _check_iso3(value)


Iso3 = Annotated[str, AfterValidator(_check_iso3)]
CronString = Annotated[str, AfterValidator(_check_cron)]
EnvName = Annotated[str, AfterValidator(_check_env_name)]
Identifier = Annotated[str, AfterValidator(_check_identifier)]
ScopeItem = Annotated[str, AfterValidator(_check_scope_item)]
TimezoneName = Annotated[str, AfterValidator(_check_timezone)]
HexColour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]


class ConfigModel(BaseModel):
    """Base of every config table: unknown keys are refused, TOML types are taken as they are.

    No number may be NaN or infinite (TOML allows `nan` and `inf`; none of them can be meant),
    and none may exceed `MAX_MAGNITUDE` in size.
    """

    # strict: TOML is typed, so `timeout_seconds = "30"` is a mistake worth reporting.
    model_config = ConfigDict(
        extra="forbid", strict=True, validate_default=False, allow_inf_nan=False
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_absurd_numbers(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value
        if abs(value) > MAX_MAGNITUDE:
            raise _custom_error(
                f"{value:g} is absurdly large (no setting means a number beyond "
                f"{MAX_MAGNITUDE:g})"
            )
        return value
