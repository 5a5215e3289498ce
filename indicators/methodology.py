"""The methodology version: which definition of the score a stored or exported number comes from.

Bump it whenever a change alters what a score means (weights, transforms, aggregation, the
point-in-time rule or release calendars, the indicator set); record the change in
docs/METHODOLOGY.md's version list. Scores, exports, notifications and docs/VALIDATION.md carry it.
"""

from __future__ import annotations

from typing import Final

# 1: trigger × vulnerability (geometric mean of structural pillars, floor 0.1) — the first release.
# 2: release calendars for vintage-less annual series (issue 12 §1).
# 3: vulnerability = weighted power mean p = -1 of the structural pillars floored at 2 (the
#    aggregation the backtest chose on the train years, issue 12 §3), configurable in [model];
#    official price-revision series step against the price in force whatever the gap.
# 4: structural pillar weights chosen on the train years by the backtest's weight search
#    (governance and security 3, macro, inequality and resources 1; issue 12 §3).
# 5: the structural indicators' weights within their pillars and their transforms searched on the
#    train years from the design values (cpi_inflation 0.5 → 3, protest_events 1 → 3; issue 12 §3).
METHODOLOGY_VERSION: Final = "5"
