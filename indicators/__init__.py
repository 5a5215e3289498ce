"""The pure domain: catalogue, derived series, normalisation, scoring, alert rules. No I/O."""
