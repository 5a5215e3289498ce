"""The shell that connects the rooms: config, store, snapshot, refresh, alerts, scheduler, CLI."""

__version__ = "0.1.0"
