"""The methodology version: which definition of the score a stored or exported number comes from.

Bump it whenever a change alters what a score means (weights, transforms, aggregation, the
point-in-time rule or release calendars, the indicator set); record the change in
docs/METHODOLOGY.md's version list. Scores, exports, notifications and docs/VALIDATION.md carry it.
"""

from __future__ import annotations

from typing import Final

# 1: trigger × vulnerability (geometric mean of structural pillars, floor 0.1) — the first release.
# 2: release calendars for vintage-less annual series (issue 12 §1).
METHODOLOGY_VERSION: Final = "2"
