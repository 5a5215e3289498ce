"""Fault-matrix cases, one module per registered source, named after its registry name."""
