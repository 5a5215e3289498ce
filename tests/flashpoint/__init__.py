"""Tests for flashpoint/."""
