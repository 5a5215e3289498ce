"""Tests for dashboard/."""
