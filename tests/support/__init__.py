"""Test support: loopback servers, fixture loaders."""
