"""GDELT event counts per country: protests (CAMEO root 14), conflict (18–20) and all events.

Counts come from GDELT's bulk event exports, keyless: the 1.0 daily files
`{root}/events/YYYYMMDD.export.CSV.zip` (default) or the 2.0 15-minute files
`{root}/gdeltv2/YYYYMMDDHHMMSS.export.CSV.zip`, discovered through `{root}/gdeltv2/lastupdate.txt`.
Each zip holds one tab-separated file without a header, streamed row by row; only three columns
are read: SQLDATE (the day the event happened), EventRootCode and ActionGeo_CountryCode (FIPS
10-4, mapped to ISO3 by `countries`: the packaged `fips_countries.json` plus corrections).

The package: `countries` (FIPS → ISO3 and coverage), `exports` (reading one file), `window`
(which files a run reads), `aggregate` (counts → observations), `fetcher` (the fetcher).

Counting rule for monthly indicators — the same as the bundled monthly backfill
(`gdelt-monthly/`, built by a BigQuery `COUNTIF` over `gdelt-bq.full.events` grouped by
ActionGeo_CountryCode and SQLDATE month): an event counts for the country where it happened and
the month of its SQLDATE, whichever file reported it. Daily indicators (`protest_events_daily`,
`gdelt_total_events`) count by the day of the file that reported the event instead, so a day's
count is final when published (`aggregate`).

Why every run recounts from the start of a month: an event is reported in the file of the day
it was seen, and late reports of earlier days trickle in over the next files, so a month's count
is only right when every file of that month (up to the newest) is counted together. The store
keeps totals, not per-file parts, so a run that counted only the new files would overwrite the
month with a fraction of it. Each run therefore starts at the first day of the newest stored
month (nothing stored: the previous month for daily files, the current one for 15-minute
files) and recounts through the newest file: complete months are final, the current month is
stored month-to-date (published, so visible to scoring, only from the month's end + lag: early in
a month a month-to-date count would read as a quiet month) and revised by later runs. A run
with no new file makes no request at all (the newest file counted is kept as a cursor among the
validators). Files are immutable, so no
conditional request is made for them; `lastupdate.txt` is fetched conditionally.

Cost: up to one daily file (~5–10 MB) per day of the month so far, paced by
`min_interval_seconds`; the 15-minute variant needs 96 files a day and suits short windows.
"""

from __future__ import annotations

from fetchers.gdelt.aggregate import (
    REPORT_WINDOW_DAYS,
    CountWindow,
    aggregate_counts,
    by_event_day,
    by_report_day,
    root_codes,
)
from fetchers.gdelt.countries import NOT_MAPPED, covered_iso3, fips_corrections, fips_to_iso3
from fetchers.gdelt.exports import (
    GDELT1_DAILY,
    GDELT2_15MIN,
    MAX_MALFORMED_SHARE,
    SOURCE,
    FileCounts,
    Layout,
    check_export_body,
    count_events,
    parse_lastupdate,
)
from fetchers.gdelt.fetcher import DEFAULT_MAX_FILES, GdeltFetcher
from fetchers.gdelt.window import (
    Variant,
    daily_stamps,
    month_start,
    quarter_hour_stamps,
    recount_start,
    stamp_day,
)

__all__ = [
    "DEFAULT_MAX_FILES",
    "GDELT1_DAILY",
    "GDELT2_15MIN",
    "MAX_MALFORMED_SHARE",
    "NOT_MAPPED",
    "REPORT_WINDOW_DAYS",
    "SOURCE",
    "CountWindow",
    "FileCounts",
    "GdeltFetcher",
    "Layout",
    "Variant",
    "aggregate_counts",
    "by_event_day",
    "by_report_day",
    "check_export_body",
    "count_events",
    "covered_iso3",
    "daily_stamps",
    "fips_corrections",
    "fips_to_iso3",
    "month_start",
    "parse_lastupdate",
    "quarter_hour_stamps",
    "recount_start",
    "root_codes",
    "stamp_day",
]
