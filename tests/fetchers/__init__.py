"""Tests for fetchers/."""
