"""The dashboard server's start: the script's heavy imports are done before the server answers.

Streamlit runs no app code until the first browser connects, so the first visit after a restart
paid for every import of the script (pandas, NumPy, SQLAlchemy, pydantic, plotly, pyarrow:
about 1.5 s of a 2 s first script run on a 2-core machine), after the browser had already spent
about 1 s loading Streamlit's page. `python -m dashboard.warmup run APP [FLAGS]` (what
`flashpoint dashboard` starts) imports those modules first, then hands over to Streamlit's own
command line: the server starts answering that much later, and its first script run finds them
imported (as `gunicorn --preload` does for a WSGI app).

The imports run in the main thread, before Streamlit starts: a background thread importing pandas
while Streamlit imported plotly (which imports pandas too) was seen to deadlock the import locks
and leave one of them a partially initialised module. Only modules that never touch Streamlit
are imported here (no cache is created outside a script run).
"""

from __future__ import annotations

import importlib
import logging
import sys

log = logging.getLogger("flashpoint.dashboard")

# What the first overview run imports that costs most (in the order it needs them), then
# Flashpoint's own modules that import no Streamlit.
MODULES: tuple[str, ...] = (
    "numpy",
    "pandas",
    "sqlalchemy",
    "sqlalchemy.dialects.sqlite",
    "sqlite3",
    "pydantic",
    "pyarrow",
    "pyarrow.pandas_compat",  # Streamlit's first frame → Arrow conversion
    "requests",
    "plotly.graph_objects",
    "plotly.io",
    "plotly.offline",
    "plotly.tools",
    "flashpoint.auth",
    "flashpoint.config",
    "flashpoint.logs",
    "flashpoint.store",
    "flashpoint.precompute",
    "flashpoint.alerts",
    "flashpoint.schedules",
    "indicators.explain",
    "indicators.replay",
    "indicators.trigger_driver",
    "dashboard.charts",
    "dashboard.trend_chart",
    "dashboard.fuel_prices",
    "dashboard.formatting",
    "dashboard.brief",
    "dashboard.brief_html",
    "dashboard.brief_pdf",
    # Streamlit's own lazily imported tables (the page icon's emoji check, material icons).
    "streamlit.emojis",
    "streamlit.material_icon_names",
)


def import_all(modules: tuple[str, ...] = MODULES) -> None:
    """Import `modules`; one that fails is skipped (the script reports its own errors)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # a warm-up never stops the server
            log.debug("warm-up import of %s failed: %s", name, error)


def main() -> None:
    """`python -m dashboard.warmup run APP [FLAGS]`: Streamlit's command line, warmed."""
    import_all()
    from streamlit.web import cli

    # The same program name as `python -m streamlit`: Streamlit reads its own command line.
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    sys.exit(main())
