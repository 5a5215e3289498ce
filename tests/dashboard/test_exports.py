"""CSV exports: rounded to the shown precision by default, every digit on request."""

from __future__ import annotations

import io

import pandas as pd

from dashboard import components


def test_csv_is_rounded_unless_full_precision_is_asked_for() -> None:
    composite = 2 / 3 * 10  # 6.666666666666667: a 16-digit float
    table = pd.DataFrame({"country": ["KAZ", "CHE"], "composite": [composite, 1234.56789]})
    rounded = components.csv_bytes(table, rounded=True).decode("utf-8")
    assert "6.667" in rounded and "6.6666666" not in rounded
    assert "1235" in rounded
    full = components.csv_bytes(table, rounded=False).decode("utf-8")
    assert pd.read_csv(io.StringIO(full))["composite"].iloc[0] == composite
    assert pd.read_csv(io.StringIO(rounded))["country"].tolist() == ["KAZ", "CHE"]
