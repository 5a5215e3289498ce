"""Tests for indicators/."""
