"""Flashpoint test suite (mirrors the packages)."""
