"""Fixtures for fetcher tests: the loopback replay server and the fixture directory."""

from __future__ import annotations

from pathlib import Path

from tests.support.replay_server import replay_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

__all__ = ["FIXTURES", "replay_server"]
