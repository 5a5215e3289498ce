"""The fx source's default currency table, apart from the fetcher so the config reads it without
importing HTTP."""

from __future__ import annotations

from collections.abc import Mapping

# ISO3 → ISO 4217 for the default watched countries; `[sources.fx] currencies` overrides it.
# Kazakhstan is absent on purpose (NBK's official rate is the series); Ecuador uses the US dollar.
DEFAULT_CURRENCIES: Mapping[str, str] = {
    "KGZ": "KGS",
    "UZB": "UZS",
    "TJK": "TJS",
    "TKM": "TMT",
    "RUS": "RUB",
    "AZE": "AZN",
    "MNG": "MNT",
    "IRN": "IRR",
    "NGA": "NGN",
}
