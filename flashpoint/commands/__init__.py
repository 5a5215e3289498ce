"""CLI sub-commands, one module each; each module exposes `register(subparsers)`.

The CLI looks commands up in `COMMAND_MODULES` (a registry, not if/elif), so a room adds its command
by adding its module name here.
"""

COMMAND_MODULES: tuple[str, ...] = (
    "init",
    "load_snapshot",
    "import_series",
    "import_announcements",
    "export",
    "status",
    "dashboard",
    "refresh",
    "score",
    "replay",
    "backtest",
    "alerts",
    "serve",
)
