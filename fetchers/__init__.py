"""Fetchers: one module per source; the registry maps source names to fetcher classes."""
