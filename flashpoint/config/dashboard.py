"""`[dashboard]` and `[scheduler]`: the Streamlit app and the `flashpoint serve` process."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from flashpoint.config.base import ConfigModel, EnvName, Iso3, TimezoneName


class DashboardSettings(ConfigModel):
    """`[dashboard]`: the Streamlit app."""

    title: str = Field(default="Flashpoint", description="Page title.")
    default_country: Iso3 = Field(default="KAZ", description="Country selected on first load.")
    public_url: str = Field(
        default="http://localhost:8501", description="URL used for links in notifications."
    )
    address: str = Field(default="127.0.0.1", description="Address `flashpoint dashboard` binds.")
    port: int = Field(default=8501, ge=1, le=65535, description="Port `flashpoint dashboard` uses.")
    admin_password_env: EnvName = Field(
        default="FLASHPOINT_ADMIN_PASSWORD",
        description="Environment variable with the admin password (editing alert rules); unset: "
        "editing is disabled.",
    )
    admin_name: str = Field(
        default="admin",
        min_length=1,
        max_length=80,
        description="The identity a password login acts as in the audit log (the password is "
        "shared, so the name is configured, never typed at login).",
    )
    refresh_seconds: int = Field(
        default=300, ge=0, description="How often open pages re-read the store; 0 = never."
    )
    chart_renderer: Literal["basic", "streamlit"] = Field(
        default="basic",
        description="basic: line and bar charts are drawn by plotly.js's basic bundle, served by "
        "the app (a fraction of the browser's start-up cost); streamlit: every chart by "
        "st.plotly_chart. Maps always use st.plotly_chart.",
    )


class SchedulerSettings(ConfigModel):
    """`[scheduler]`: the `flashpoint serve` process."""

    timezone: TimezoneName = Field(
        default="UTC", description="Timezone of the sources' cron schedules."
    )
    misfire_grace_seconds: int = Field(
        default=900, ge=0, description="Run a job missed by up to this many seconds."
    )
    jitter_seconds: int = Field(
        default=30, ge=0, description="Random delay added to each run (spreads requests)."
    )
    lock_file: str = Field(
        default="",
        description="Lock file that keeps a second scheduler from starting against a SQLite "
        "store. Empty: `<database file>.scheduler.lock`, beside the database, so every config "
        "pointing at one store shares it. PostgreSQL stores use an advisory lock instead.",
    )
