"""A loopback World Bank API v2 emulator serving the bundled WDI/WGI data, for the benchmark.

It answers, in the shapes of the recorded bodies (`tests/fixtures/worldbank/`) and of what
`wbgapi` 1.0.14 reads (its source in `.venv/.../wbgapi/`):

- `GET /v2/country/{economies}/indicator/{codes}` (and the plural aliases `countries`,
  `indicators`, with or without a language prefix): the v2 data endpoint. `[metadata, rows]`,
  `per_page` default 50 and honoured however large, `page`, `date=Y` / `date=Y1:Y2`, `source=`;
  several codes only with `source=` (else the HTTP-200 error envelope, as the live API does);
  unknown codes → the envelope with id 120; a page past the end → `[metadata, []]`. Rows are
  dense (a row with `value: null` for every economy × year without data), ordered by indicator,
  then economy name, then year descending, as recorded; `country/all` interleaves aggregates.
- What `wbgapi.data.fetch` asks for: `/v2/en/sources/{db}/concepts`,
  `/v2/en/sources/{db}/time/all`, `/v2/en/region`, `/v2/en/incomelevel`, `/v2/en/lendingtype`
  (the recorded bodies), `/v2/en/country/all`, and the "advanced" data endpoint
  `/v2/en/sources/{db}/series/{codes}/country/{economies}/time/{times}`
  whose body is `{page, pages, per_page, lastupdated, total, source: {id, name, data:
  [{variable: [{concept, id, value}, ...], value}]}}`.

Every request waits `latency_seconds` (default 50 ms) before it is answered, like a distant
server. Known approximations (the data files do not carry them): `country.id` / `iso2Code` are
the first two letters of the ISO3 code, country regions/income levels are blank (aggregates
have region id "NA", which is how wbgapi recognises them), and `lastupdated` is fixed per source.
"""

from __future__ import annotations

import csv
import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "fixtures" / "worldbank"
SHARED_RECORDED = (ROOT.parent / "shared" / "data" / "api-samples" / "worldbank"
                   / "extracted-bodies")
WGI_INDICATORS = {
    "VoiceandAccountability": ("VA", "Voice and Accountability"),
    "PoliticalStability": ("PV", "Political Stability and Absence of Violence/Terrorism"),
    "GovernmentEffectiveness": ("GE", "Government Effectiveness"),
    "RegulatoryQuality": ("RQ", "Regulatory Quality"),
    "RuleofLaw": ("RL", "Rule of Law"),
    "ControlofCorruption": ("CC", "Control of Corruption"),
}
WGI_MEASURES = {"Estimate": ("EST", "Estimate"), "StdErr": ("STD.ERR", "Standard Error")}


@dataclass
class SourceData:
    """One World Bank database (source id): its series, economies, years and values."""

    id: int
    name: str
    lastupdated: str
    series: dict[str, str] = field(default_factory=dict)  # code → name
    economies: dict[str, str] = field(default_factory=dict)  # ISO3 → name
    years: list[int] = field(default_factory=list)  # descending
    values: dict[tuple[str, str, int], float] = field(default_factory=dict)

    def economies_by_name(self) -> list[str]:
        return sorted(self.economies, key=lambda code: (self.economies[code], code))


@dataclass
class WorldBankData:
    """The emulated databases plus the economy list (countries and aggregates)."""

    sources: dict[int, SourceData]
    names: dict[str, str]
    aggregates: frozenset[str]


def data_dir() -> Path:
    """`data/` in the repository, or the shared data folder when the snapshot is not copied yet."""
    local = ROOT / "data"
    return local if (local / "wdi").is_dir() else ROOT.parent / "shared" / "data"


def load_data(base: Path | None = None) -> WorldBankData:
    """Read the bundled WDI CSVs and the WGI long file into emulated databases 2 and 3."""
    base = base or data_dir()
    wdi = SourceData(2, "World Development Indicators", "2026-07-01")
    for path in sorted((base / "wdi").glob("*.csv")):
        code = path.stem
        wdi.series[code] = _wdi_series_name(path) or code
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                iso3, year = row["Country Code"], int(row["Year"])
                wdi.economies.setdefault(iso3, row["Country Name"])
                wdi.values[(code, iso3, year)] = float(row["Value"])
    wdi.years = sorted({year for _, _, year in wdi.values}, reverse=True)

    wgi = SourceData(3, "Worldwide Governance Indicators", "2020-09-25")
    wgi_file = base / "wgi" / "wgi_all_countries_1996-2019_long.csv"
    with wgi_file.open(encoding="latin-1", newline="") as handle:
        for row in csv.DictReader(handle):
            prefix, label = WGI_INDICATORS[row["Indicator"]]
            iso3, year = row["Code"], int(row["Year"])
            wgi.economies.setdefault(iso3, row["Country/Territory"])
            for column, (suffix, measure) in WGI_MEASURES.items():
                code = f"{prefix}.{suffix}"
                wgi.series[code] = f"{label}: {measure}"
                text = row[column]
                if text and text != "NA":
                    wgi.values[(code, iso3, year)] = float(text)
    wgi.years = sorted({year for _, _, year in wgi.values}, reverse=True)

    iso3_file = ROOT / "indicators" / "data" / "iso3_countries.csv"
    with iso3_file.open(encoding="utf-8", newline="") as handle:
        countries = {row["iso3"] for row in csv.DictReader(handle)} - {"WLD"}
    names = {**wgi.economies, **wdi.economies}
    aggregates = frozenset(code for code in names if code not in countries)
    return WorldBankData({2: wdi, 3: wgi}, names, aggregates)


def _wdi_series_name(csv_path: Path) -> str | None:
    package = csv_path.with_name(f"{csv_path.stem}.datapackage.json")
    try:
        meta = json.loads(package.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    title = meta.get("title")
    return str(title) if title else None


def _recorded(name: str) -> bytes:
    for folder in (RECORDED, SHARED_RECORDED):
        path = folder / name
        if path.exists():
            return path.read_bytes()
    raise FileNotFoundError(name)


ENVELOPE_120 = b'[{"message":[{"id":"120","key":"Invalid value","value":"The provided parameter value is not valid"}]}]'  # noqa: E501


class Emulator:
    """The HTTP server; `requests` counts every request by route kind."""

    def __init__(self, data: WorldBankData, *, latency_seconds: float = 0.05) -> None:
        self.data = data
        self.latency_seconds = latency_seconds
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def total_requests(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def start(self) -> Emulator:
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    # -- routing ---------------------------------------------------------------------------
    def answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if parts and parts[0] == "v2":
            parts = parts[1:]
        if parts and parts[0] == "en":
            parts = parts[1:]
        if len(parts) == 4 and parts[0] in ("country", "countries") and parts[2] in (
            "indicator", "indicators"
        ):
            self._count("v2-data")
            return 200, self._v2_data(parts[1], parts[3], query), "application/json"
        if len(parts) == 3 and parts[0] == "sources" and parts[2] == "concepts":
            self._count("concepts")
            return 200, self._concepts(int(parts[1])), "application/json"
        if len(parts) == 4 and parts[0] == "sources" and parts[2] == "time":
            self._count("time")
            return 200, self._time_list(int(parts[1])), "application/json"
        if len(parts) == 8 and parts[0] == "sources" and parts[2] == "series":
            self._count("advanced-data")
            return 200, self._advanced_data(int(parts[1]), parts[3], parts[5], parts[7],
                                            query), "application/json"
        recorded = {"region": "200_regions_format_json.json",
                    "incomelevel": "200_incomeLevels_format_json_page_1_per_page_2.json",
                    "lendingtype": "200_lendingTypes_format_json.json"}
        if len(parts) == 1 and parts[0] in recorded:
            self._count("classifications")
            return 200, self._classification(parts[0], recorded[parts[0]]), "application/json"
        if parts == ["country", "all"] or parts == ["country"]:
            self._count("economies")
            return 200, self._economies(), "application/json"
        self._count("unknown")
        return 404, b'{"error": "route not emulated"}', "application/json"

    def _count(self, kind: str) -> None:
        with self._lock:
            self.requests[kind] += 1

    # -- v2 data endpoint ------------------------------------------------------------------
    def _v2_data(self, economies: str, codes_text: str, query: dict[str, str]) -> bytes:
        codes = [code for code in codes_text.split(";") if code]
        source_param = query.get("source")
        if len(codes) > 1 and not source_param:
            return ENVELOPE_120  # the recorded quirk: several indicators need `source=`
        source = self.data.sources.get(int(source_param)) if source_param else next(
            (item for item in self.data.sources.values() if codes[0] in item.series), None)
        if source is None or any(code not in source.series for code in codes):
            return ENVELOPE_120
        chosen = self._economies_for(source, economies)
        years = _years_in(source.years, query.get("date"))
        per_page = int(query.get("per_page", 50))
        page = int(query.get("page", 1))
        total = len(codes) * len(chosen) * len(years)
        pages = math.ceil(total / per_page) if total else 0
        meta = {"page": page, "pages": pages, "per_page": per_page, "total": total,
                "sourceid": None if source_param else str(source.id),
                "sourcename": None if source_param else source.name,
                "lastupdated": source.lastupdated}
        if total == 0:
            return json.dumps([meta, None]).encode()
        rows = []
        block = len(chosen) * len(years)
        for index in range((page - 1) * per_page, min(page * per_page, total)):
            code = codes[index // block]
            iso3 = chosen[(index % block) // len(years)]
            year = years[index % len(years)]
            rows.append({
                "indicator": {"id": code, "value": source.series[code]},
                "country": {"id": iso3[:2], "value": self.data.names.get(iso3, iso3)},
                "countryiso3code": iso3,
                "date": str(year),
                "value": source.values.get((code, iso3, year)),
                "unit": "", "obs_status": "", "decimal": 1,
            })
        return json.dumps([meta, rows], separators=(",", ":")).encode()

    def _economies_for(self, source: SourceData, economies: str) -> list[str]:
        ordered = source.economies_by_name()
        if economies.lower() == "all":
            return ordered
        wanted = set(economies.upper().split(";"))
        return [code for code in ordered if code in wanted]

    # -- wbgapi's routes -------------------------------------------------------------------
    def _concepts(self, db: int) -> bytes:
        source = self.data.sources[db]
        concepts = [{"id": "Country", "value": "Country"}, {"id": "Series", "value": "Series"},
                    {"id": "Time", "value": "Time"}]
        body = {"page": 1, "pages": 1, "per_page": "1000", "total": len(concepts),
                "source": [{"id": str(db), "name": source.name, "concept": concepts}]}
        return json.dumps(body).encode()

    def _time_list(self, db: int) -> bytes:
        source = self.data.sources[db]
        variables = [{"id": f"YR{year}", "value": str(year)} for year in sorted(source.years)]
        body = {"page": 1, "pages": 1, "per_page": "1000", "total": len(variables),
                "source": [{"id": str(db), "name": source.name,
                            "concept": [{"id": "Time", "variable": variables}]}]}
        return json.dumps(body).encode()

    def _classification(self, kind: str, recorded: str) -> bytes:
        meta, rows = json.loads(_recorded(recorded).decode("utf-8-sig"))
        meta = dict(meta, page=1, pages=1, per_page=str(max(len(rows), 50)), total=len(rows))
        return json.dumps([meta, rows]).encode()

    def _economies(self) -> bytes:
        rows = []
        for iso3 in sorted(self.data.names, key=lambda code: self.data.names[code]):
            aggregate = iso3 in self.data.aggregates
            blank = {"id": "", "iso2code": "", "value": ""}
            rows.append({
                "id": iso3, "iso2Code": iso3[:2], "name": self.data.names[iso3],
                "region": {"id": "NA", "iso2code": "NA", "value": "Aggregates"} if aggregate
                else blank,
                "adminregion": blank,
                "incomeLevel": {"id": "NA", "iso2code": "NA", "value": "Aggregates"}
                if aggregate else blank,
                "lendingType": {"id": "", "iso2code": "", "value": "Aggregates"}
                if aggregate else blank,
                "capitalCity": "", "longitude": "", "latitude": "",
            })
        meta = {"page": 1, "pages": 1, "per_page": "1000", "total": len(rows)}
        return json.dumps([meta, rows]).encode()

    def _advanced_data(self, db: int, codes_text: str, economies: str, times: str,
                       query: dict[str, str]) -> bytes:
        source = self.data.sources[db]
        codes = [code for code in codes_text.split(";") if code in source.series]
        chosen = self._economies_for(source, economies)
        if times.lower() == "all":
            years = sorted(source.years)
        else:
            wanted = {int(item.upper().removeprefix("YR")) for item in times.split(";")}
            years = [year for year in sorted(source.years) if year in wanted]
        per_page = int(query.get("per_page", 1000))
        page = int(query.get("page", 1))
        total = len(codes) * len(chosen) * len(years)
        pages = math.ceil(total / per_page) if total else 0
        data = []
        block = len(chosen) * len(years)
        for index in range((page - 1) * per_page, min(page * per_page, total)):
            code = codes[index // block]
            iso3 = chosen[(index % block) // len(years)]
            year = years[index % len(years)]
            data.append({
                "variable": [
                    {"concept": "Country", "id": iso3, "value": self.data.names.get(iso3, iso3)},
                    {"concept": "Series", "id": code, "value": source.series[code]},
                    {"concept": "Time", "id": f"YR{year}", "value": str(year)},
                ],
                "value": source.values.get((code, iso3, year)),
            })
        body = {"page": page, "pages": pages, "per_page": per_page,
                "lastupdated": source.lastupdated, "total": total,
                "source": {"id": str(db), "name": source.name, "data": data}}
        return json.dumps(body, separators=(",", ":")).encode()


def _years_in(years: list[int], date_param: str | None) -> list[int]:
    if not date_param:
        return years
    start_text, _, end_text = date_param.partition(":")
    start, end = int(start_text), int(end_text or start_text)
    return [year for year in years if start <= year <= end]


def _make_handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real API

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            status, body, content_type = emulator.answer(parts.path, query)
            time.sleep(emulator.latency_seconds)  # simulated network latency, by design
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type};charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
