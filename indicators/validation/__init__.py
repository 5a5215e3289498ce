"""Validation of the score against what happened: metrics, labels, event study, discrimination."""
