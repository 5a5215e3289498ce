"""config.toml loading: bad files name file, key path and problem; precedence; the default file."""

from __future__ import annotations

import re
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from flashpoint import cli
from flashpoint.config import (
    CONFIG_ENV,
    DATABASE_URL_ENV,
    DEFAULT_COUNTRIES,
    Settings,
    default_config_path,
    iso3_countries,
    load_config,
)
from flashpoint.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
REPORT = REPO_ROOT.parent / "shared" / "report" / "kazakhstan-2022-report.txt"

# The indicator ids of docs/ARCHITECTURE.md §6: the contract shared by every room.
ARCHITECTURE_INDICATORS = {
    "fuel_lpg_retail", "fuel_gasoline_retail", "fuel_diesel_retail", "brent_price", "wti_price",
    "henry_hub_price", "propane_price", "usd_fx_rate", "fx_rate_annual", "fuel_price_step",
    "fuel_price_yoy", "world_oil_change_yoy", "protest_spike", "protest_spike_daily",
    "protest_events_daily", "food_price_shock", "announced_price_change", "cpi_inflation",
    "imf_cpi_inflation", "unemployment", "youth_unemployment_male", "youth_unemployment_female",
    "gdp_growth", "fx_depreciation_12m", "gini", "top10_income_share", "poverty_national",
    "poverty_international", "wgi_control_of_corruption", "wgi_government_effectiveness",
    "wgi_rule_of_law", "wgi_voice_accountability", "ti_cpi", "wgi_political_stability",
    "protest_events", "conflict_events", "gdelt_total_events", "ucdp_fatalities",
    "homicide_rate", "acled_protest_events", "acled_fatalities", "resource_rents",
    "fuel_exports_share", "fuel_heating_oil_retail", "fuel_kerosene_retail",
    *(f"food_price_{staple}" for staple in (
        "bread", "wheat_flour", "wheat", "rice", "maize", "maize_flour", "sorghum",
        "cooking_oil", "sugar", "lentils",
    )),
}  # fmt: skip
ARCHITECTURE_PILLARS = {
    "fuel_shock", "unrest_spike", "food_shock", "macro", "inequality", "governance", "security",
    "resources", "context",
}  # fmt: skip

# Two indicators and no alert rules: enough for tests that replace the [[indicators]] list
# without tripping the default rules' references to indicators that are then missing.
TWO_INDICATORS = """
[alerts]
rules = []

[[indicators]]
id = "cpi_inflation"
pillar = "macro"
source = "worldbank"
source_code = "FP.CPI.TOTL.ZG"
weight = {weight_a}
[indicators.normalisation]
lower = 0.0
upper = 25.0

[[indicators]]
id = "{second_id}"
pillar = "{second_pillar}"
source = "worldbank"
weight = {weight_b}
[indicators.normalisation]
lower = {second_lower}
upper = 25.0
"""


def two_indicators(
    *,
    weight_a: str = "1.0",
    weight_b: str = "1.0",
    second_id: str = "unemployment",
    second_pillar: str = "macro",
    second_lower: str = "2.0",
) -> str:
    return TWO_INDICATORS.format(
        weight_a=weight_a,
        weight_b=weight_b,
        second_id=second_id,
        second_pillar=second_pillar,
        second_lower=second_lower,
    )


def rule(extra: str) -> str:
    """One `[[alerts.rules]]` entry with id `r1` and the keys in `extra`."""
    return f'[[alerts.rules]]\nid = "r1"\n{extra}\n'


# (case id, TOML text, expected key path, a fragment of the expected problem)
BAD_CONFIGS: list[tuple[str, str, str, str]] = [
    (
        "toml_syntax",
        '[general]\ncountries = ["KAZ"\nlog_level = "INFO"\n',
        "line 3",
        "invalid TOML",
    ),
    ("unknown_table", "[genral]\ncountries = []\n", "genral", "unknown key 'genral'"),
    ("unknown_key", "[general]\ncolour = 3\n", "general.colour", "unknown key 'colour'"),
    (
        "wrong_type_list",
        '[general]\ncountries = "KAZ"\n',
        "general.countries",
        "valid list",
    ),
    (
        "wrong_type_number",
        '[sources.fred]\ntimeout_seconds = "soon"\n',
        "sources.fred.timeout_seconds",
        "valid number",
    ),
    (
        "wrong_type_bool",
        '[sources.gdelt]\nenabled = "yes"\n',
        "sources.gdelt.enabled",
        "valid boolean",
    ),
    (
        "unknown_country",
        '[general]\ncountries = ["KAZ", "XYZ"]\n',
        "general.countries[1]",
        "unknown country code 'XYZ'",
    ),
    (
        "default_country_not_watched",
        '[general]\ncountries = ["KAZ", "KGZ"]\ndefault_country = "UZB"\n',
        "general.default_country",
        "not one of general.countries",
    ),
    (
        "cron_out_of_range",
        '[sources.gdelt]\nschedule = "61 * * * *"\n',
        "sources.gdelt.schedule",
        "invalid schedule",
    ),
    (
        "cron_field_count",
        '[sources.nbk]\nschedule = "0 6 * *"\n',
        "sources.nbk.schedule",
        "Wrong number of fields",
    ),
    (
        "secret_as_value",
        '[sources.fred]\napi_key = "0123456789abcdef0123456789abcdef"\n',
        "sources.fred.api_key",
        "api_key_env",
    ),
    (
        "password_as_value",
        '[sources.acled]\npassword = "hunter2"\n',
        "sources.acled.password",
        "password_env",
    ),
    (
        "env_name_not_a_name",
        '[dashboard]\nadmin_password_env = "correct horse battery"\n',
        "dashboard.admin_password_env",
        "not an environment variable name",
    ),
    (
        "chart_renderer_unknown",
        '[dashboard]\nchart_renderer = "svg"\n',
        "dashboard.chart_renderer",
        "'basic' or 'streamlit'",
    ),
    ("unknown_source", "[sources.twitter]\nenabled = true\n", "sources.twitter", "unknown key"),
    (
        "negative_weight",
        two_indicators(weight_b="-1.0"),
        "indicators[1].weight",
        "greater than or equal to 0",
    ),
    (
        "normalisation_wrong_type",
        two_indicators(second_lower='"low"'),
        "indicators[1].normalisation.lower",
        "valid number",
    ),
    (
        "goalposts_not_increasing",
        two_indicators(second_lower="30.0"),
        "indicators[1].normalisation.upper",
        "must be greater than lower",
    ),
    (
        "unknown_pillar",
        two_indicators(second_pillar="economy"),
        "indicators[1].pillar",
        "unknown pillar 'economy'",
    ),
    (
        "duplicate_indicator",
        two_indicators(second_id="cpi_inflation"),
        "indicators[1].id",
        "duplicate indicator id 'cpi_inflation'",
    ),
    (
        "weights_all_zero",
        two_indicators(weight_a="0.0", weight_b="0.0"),
        "pillars.macro",
        "weight 0",
    ),
    (
        "unknown_derived_from",
        two_indicators() + '\n[[indicators]]\nid = "fx_dep"\npillar = "macro"\nsource = "derived"\n'
        'derivation = "depreciation_12m"\nderived_from = ["usd_fx_rate"]\n'
        "[indicators.normalisation]\nlower = 0.0\nupper = 50.0\n",
        "indicators[2].derived_from[0]",
        "unknown indicator 'usd_fx_rate'",
    ),
    (
        "in_force_sources_on_a_derived_indicator",
        two_indicators() + '\n[[indicators]]\nid = "fx_dep"\npillar = "macro"\nsource = "derived"\n'
        'derivation = "depreciation_12m"\nderived_from = ["cpi_inflation"]\n'
        'in_force_sources = ["analyst"]\n'
        "[indicators.normalisation]\nlower = 0.0\nupper = 50.0\n",
        "indicators[2].in_force_sources",
        "only base price series have price-in-force sources",
    ),
    (
        "unknown_indicator_source",
        two_indicators().replace(
            'source = "worldbank"\nweight = 1.0', 'source = "wdi"\nweight = 1.0'
        ),
        "indicators[1].source",
        "unknown source 'wdi'",
    ),
    (
        "pillar_kind",
        '[pillars.macro]\nname = "Macro"\nkind = "sideways"\n',
        "pillars.macro.kind",
        "'structural', 'trigger' or 'context'",
    ),
    (
        "bands_not_increasing",
        '[[bands]]\nname = "low"\nlower = 0.0\ncolour = "#00ff00"\n'
        '[[bands]]\nname = "mid"\nlower = 5.0\ncolour = "#ffff00"\n'
        '[[bands]]\nname = "high"\nlower = 4.0\ncolour = "#ff0000"\n',
        "bands[2].lower",
        "must increase",
    ),
    (
        "band_colour",
        '[[bands]]\nname = "all"\nlower = 0.0\ncolour = "red"\n',
        "bands[0].colour",
        "should match pattern",
    ),
    (
        "rule_recovery_wrong_side",
        rule('kind = "level"\ntarget = "composite"\nthreshold = 6.0\nrecovery = 7.0'),
        "alerts.rules[0].recovery",
        "must be at or below the threshold",
    ),
    (
        "rule_margin_on_a_level_rule",
        rule('kind = "level"\ntarget = "composite"\nthreshold = 6.0\nmargin = 0.5'),
        "alerts.rules[0].margin",
        "only a band_change rule has a margin",
    ),
    (
        "rule_margin_wider_than_a_band",
        rule('kind = "band_change"\ntarget = "composite"\nmargin = 2.0'),
        "alerts.rules[0].margin",
        "less than or equal to 1.5",
    ),
    (
        "rule_recovery_wrong_side_below",
        rule(
            'kind = "level"\ntarget = "pillar:governance"\ncondition = "below"\n'
            "threshold = 2.0\nrecovery = 1.0"
        ),
        "alerts.rules[0].recovery",
        "must be at or above the threshold",
    ),
    (
        "rule_unknown_channel",
        rule('kind = "band_change"\nchannels = ["log", "pager"]'),
        "alerts.rules[0].channels[1]",
        "unknown channel 'pager'",
    ),
    (
        "rule_unknown_indicator",
        rule('kind = "level"\ntarget = "indicator:lpg_price"\nthreshold = 10.0'),
        "alerts.rules[0].target",
        "unknown indicator 'lpg_price'",
    ),
    (
        "rule_unknown_pillar",
        rule('kind = "level"\ntarget = "pillar:economy"\nthreshold = 5.0'),
        "alerts.rules[0].target",
        "unknown pillar 'economy'",
    ),
    (
        "rule_missing_threshold",
        rule('kind = "level"\ntarget = "composite"'),
        "alerts.rules[0].threshold",
        "needs a threshold",
    ),
    (
        "rule_bad_kind",
        rule('kind = "sometimes"'),
        "alerts.rules[0].kind",
        "'level', 'change', 'spike', 'stale' or 'band_change'",
    ),
    (
        "rule_scope_country",
        rule('kind = "band_change"\nscope = ["KAZ", "ZZZ"]'),
        "alerts.rules[0].scope[1]",
        "unknown country code 'ZZZ'",
    ),
    (
        "rule_pending_zero",
        rule('kind = "band_change"\npending_evaluations = 0'),
        "alerts.rules[0].pending_evaluations",
        "greater than or equal to 1",
    ),
    (
        "channel_type",
        '[notifications.channels.ops]\ntype = "pigeon"\n',
        "notifications.channels.ops.type",
        "unknown type 'pigeon'",
    ),
    (
        "channel_wrong_type",
        '[notifications.channels.mail]\ntype = "email"\nport = "smtp"\n'
        'recipients = ["a@example.org"]\n',
        "notifications.channels.mail.port",
        "valid integer",
    ),
    (
        "channel_unknown_key",
        '[notifications.channels.hook]\ntype = "webhook"\nurl = "http://127.0.0.1/"\n'
        'token = "abc"\n',
        "notifications.channels.hook.token",
        "unknown key 'token'",
    ),
    (
        "webhook_without_url",
        '[notifications.channels.hook]\ntype = "webhook"\n',
        "notifications.channels.hook",
        "needs `url` or `url_env`",
    ),
    (
        "scheduler_timezone",
        '[scheduler]\ntimezone = "Mars/Olympus_Mons"\n',
        "scheduler.timezone",
        "unknown timezone",
    ),
    (
        "model_out_of_range",
        "[model]\nmin_coverage = 1.5\n",
        "model.min_coverage",
        "less than or equal to 1",
    ),
]


@pytest.mark.parametrize(
    ("text", "key_path", "problem"),
    [pytest.param(text, key, problem, id=case) for case, text, key, problem in BAD_CONFIGS],
)
def test_bad_config_names_file_key_path_and_problem(
    tmp_path: Path, request: pytest.FixtureRequest, text: str, key_path: str, problem: str
) -> None:
    path = tmp_path / f"{request.node.callspec.id}.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key_path}"), message
    assert caught.value.key_path.startswith(key_path)
    assert problem in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "key_path"),
    [pytest.param(text, key, id=case) for case, text, key, _problem in BAD_CONFIGS],
)
def test_cli_reports_bad_config_in_one_line_without_traceback(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    text: str,
    key_path: str,
) -> None:
    path = tmp_path / f"{request.node.callspec.id}.toml"
    path.write_text(text, encoding="utf-8")
    status = cli.main(["status", "--config", str(path)])
    captured = capsys.readouterr()
    assert status != 0
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert str(path) in lines[0]
    assert key_path in lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nowhere" / "config.toml"
    with pytest.raises(ConfigError, match=re.escape(f"{path}: file not found")):
        load_config(path)
    assert cli.main(["status", "--config", str(path)]) == ConfigError.exit_code
    assert capsys.readouterr().err.strip() == f"flashpoint: error: {path}: file not found"


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[general]\nlog_level = "INFO"\ndata_dir = \n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key_path == "line 3, column 12"
    assert "invalid TOML" in caught.value.problem


def test_several_problems_report_the_first_and_count_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[general]\ncountries = ["KAZ", "AAA", "BBB"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key_path == "general.countries[1]"
    assert "(and 1 more problem(s))" in caught.value.problem


# ------------------------------------------------------------------------------------------
# Path resolution and environment overrides


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Flashpoint variables set; the working directory an empty temporary directory."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


def write_config(path: Path, title: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[dashboard]\ntitle = "{title}"\n', encoding="utf-8")
    return path


def test_explicit_path_beats_environment(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(write_config(tmp_path / "env.toml", "from env")))
    write_config(clean_environment / "config.toml", "from cwd")
    explicit = write_config(tmp_path / "explicit.toml", "explicit")
    assert load_config(explicit).dashboard.title == "explicit"


def test_environment_beats_working_directory(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(write_config(tmp_path / "env.toml", "from env")))
    write_config(clean_environment / "config.toml", "from cwd")
    settings = load_config()
    assert settings.dashboard.title == "from env"
    assert settings.config_path == (tmp_path / "env.toml").resolve()


def test_working_directory_config_when_no_environment(clean_environment: Path) -> None:
    write_config(clean_environment / "config.toml", "from cwd")
    assert load_config().dashboard.title == "from cwd"


def test_packaged_default_when_nothing_else(clean_environment: Path) -> None:
    settings = load_config()
    assert settings.config_path == default_config_path().resolve()
    assert settings.general.countries == list(DEFAULT_COUNTRIES)


def test_environment_naming_a_missing_file_is_an_error(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "gone.toml"
    monkeypatch.setenv(CONFIG_ENV, str(missing))
    with pytest.raises(ConfigError, match=re.escape(str(missing))):
        load_config()


def test_database_url_environment_overrides_store_url(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[store]\nurl = "sqlite:////srv/configured.db"\n', encoding="utf-8")
    assert load_config(path).database_url == "sqlite:////srv/configured.db"
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql+psycopg://fp@db.example/flashpoint")
    settings = load_config(path)
    assert settings.store.url == "postgresql+psycopg://fp@db.example/flashpoint"
    assert settings.database_url == "postgresql+psycopg://fp@db.example/flashpoint"


def test_default_store_is_sqlite_in_data_dir_relative_to_config(
    clean_environment: Path, tmp_path: Path
) -> None:
    path = tmp_path / "site" / "config.toml"
    path.parent.mkdir()
    path.write_text('[general]\ndata_dir = "var/data"\n', encoding="utf-8")
    settings = load_config(path)
    expected_dir = (tmp_path / "site" / "var" / "data").resolve()
    assert settings.data_path == expected_dir
    assert settings.database_url == f"sqlite:///{expected_dir / 'flashpoint.db'}"
    # The lock sits beside the database so every config pointing at one store shares it.
    assert settings.lock_path == expected_dir / "flashpoint.db.scheduler.lock"


def test_data_dir_expands_home(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = tmp_path / "config.toml"
    path.write_text('[general]\ndata_dir = "~/fp"\n', encoding="utf-8")
    assert load_config(path).data_path == tmp_path / "home" / "fp"


# ------------------------------------------------------------------------------------------
# The default file


@pytest.fixture(scope="module")
def default_settings() -> Settings:
    return load_config(REPO_ROOT / "config.toml")


def test_default_config_covers_the_architecture_catalogue(default_settings: Settings) -> None:
    ids = [item.id for item in default_settings.indicators]
    assert len(ids) == len(set(ids))
    assert set(ids) == ARCHITECTURE_INDICATORS
    assert set(default_settings.pillars) == ARCHITECTURE_PILLARS


def test_default_catalogue_references_are_consistent(default_settings: Settings) -> None:
    catalogue = default_settings.catalogue()
    pillar_ids = {pillar.id for pillar in catalogue.pillars}
    indicator_ids = {indicator.id for indicator in catalogue.indicators}
    for indicator in catalogue.enabled_indicators:
        assert indicator.pillar in pillar_ids, indicator.id
        # A `prefix*` entry (food_price_*) names whichever indicators carry the prefix.
        named = {base for base in indicator.derived_from if not base.endswith("*")}
        assert named <= indicator_ids, indicator.id
        assert indicator.factor, indicator.id
        assert indicator.licence, indicator.id
        if indicator.derivation is not None:
            assert indicator.source == "derived"
            assert indicator.source_code == ",".join(indicator.derived_from)
    scored_kinds = {"structural", "trigger"}
    for pillar in catalogue.pillars:
        members = [i for i in catalogue.enabled_indicators if i.pillar == pillar.id]
        if pillar.kind in scored_kinds:
            assert members, f"pillar {pillar.id} has no enabled indicator"
            assert sum(i.weight for i in members) > 0
            for member in members:
                norm = member.normalisation
                if norm.method == "goalposts":
                    assert norm.lower is not None and norm.upper is not None
                    assert norm.lower < norm.upper, member.id
    lowers = [band.lower for band in catalogue.bands]
    assert lowers == sorted(lowers) and lowers[0] == 0
    assert catalogue.band_for(7.0).name == "very high"


def test_acled_indicators_and_source_are_off_by_default(default_settings: Settings) -> None:
    acled = [item for item in default_settings.indicators if item.source == "acled"]
    assert acled and not any(item.enabled for item in acled)
    assert default_settings.source("acled").enabled is False


def test_source_settings_are_reachable_by_name(default_settings: Settings) -> None:
    fred = default_settings.source("fred")
    assert fred.api_key_env == "FRED_API_KEY"  # type: ignore[attr-defined]
    assert default_settings.source("gdelt").min_interval_seconds == 5
    assert [item.id for item in default_settings.indicators_for_source("fred")] == [
        "brent_price",
        "wti_price",
        "henry_hub_price",
        "propane_price",
    ]
    with pytest.raises(KeyError):
        default_settings.source("twitter")


def test_default_rules_and_channels_are_consistent(default_settings: Settings) -> None:
    rules = {item.id: item for item in default_settings.alerts.rules}
    assert rules["composite_high"].threshold == 6.5 and rules["composite_high"].recovery == 6.0
    assert rules["fuel_price_shock"].target == "indicator:fuel_price_step"
    assert rules["unrest_spike"].kind == "spike"
    assert rules["unrest_spike_daily"].target == "indicator:protest_spike_daily"
    assert rules["stale_source"].kind == "stale"
    assert rules["composite_band_rise"].kind == "band_change"
    assert list(default_settings.notifications.channels) == ["log"]
    kaz_first = rules["composite_high"].countries(default_settings.general.countries)
    assert kaz_first == default_settings.general.countries


def test_default_file_documents_the_code_defaults(default_settings: Settings) -> None:
    # The file is "the documented default": loading it must give exactly what the models
    # default to, or one of them is lying.
    assert default_settings.model_dump() == Settings().model_dump()


def test_every_key_of_the_default_file_is_commented() -> None:
    text = (REPO_ROOT / "config.toml").read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    keys: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                keys.add(key)
                collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    document = tomllib.loads(text)
    collect(document)
    # Table names (source, pillar and channel names, fx currency keys) are data, not settings.
    keys -= set(document["sources"]) | set(document["pillars"])
    keys -= set(document["notifications"]["channels"])
    keys -= set(document["sources"]["fx"]["currencies"])
    keys -= set(document["sources"]["wfp"]["resources"])  # ISO3 data keys, like the currencies
    undocumented = sorted(key for key in keys if not re.search(rf"\b{re.escape(key)}\b", comments))
    assert undocumented == []


def _models(root: type[BaseModel]) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    pending: list[Any] = [root]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in found:
                continue
            found.add(annotation)
            pending.extend(field.annotation for field in annotation.model_fields.values())
        else:
            pending.extend(typing.get_args(annotation))
    return found


def test_every_field_has_a_default_and_a_description() -> None:
    models = _models(Settings)
    assert len(models) > 15
    for model in models:
        assert model.model_config.get("extra") == "forbid", model.__name__
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"
            assert not field.is_required(), f"{model.__name__}.{name}"


@pytest.mark.skipif(not REPORT.is_file(), reason="the report text is not available here")
def test_factors_quote_the_report_verbatim(default_settings: Settings) -> None:
    report = REPORT.read_text(encoding="utf-8")
    quotes = {item.factor for item in default_settings.indicators}
    for pillar in default_settings.pillars.values():
        quotes.update(pillar.factors)
    missing = sorted(quote for quote in quotes if quote not in report)
    assert missing == []


def test_country_list_has_countries_and_world_but_no_aggregates() -> None:
    codes = iso3_countries()
    assert set(DEFAULT_COUNTRIES) <= set(codes)
    assert codes["KAZ"] == "Kazakhstan"
    assert "WLD" in codes
    assert not {"ECS", "HIC", "ARB", "EUU", "OED"} & set(codes)
    assert all(re.fullmatch(r"[A-Z]{3}", code) for code in codes)


def test_small_user_config_keeps_the_default_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[general]\ncountries = ["KAZ", "KGZ"]\n', encoding="utf-8")
    settings = load_config(path)
    assert settings.general.countries == ["KAZ", "KGZ"]
    assert {item.id for item in settings.indicators} == ARCHITECTURE_INDICATORS
    assert settings.catalogue().pillar("fuel_shock").kind == "trigger"


def test_scope_shorthand_and_expansion(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[general]\ncountries = ["KAZ", "KGZ"]\n'
        + rule('kind = "band_change"\nscope = "watched"')
        + rule('kind = "band_change"\nscope = ["KGZ", "watched", "UZB"]').replace('"r1"', '"r2"'),
        encoding="utf-8",
    )
    first, second = load_config(path).alerts.rules
    assert first.countries(["KAZ", "KGZ"]) == ["KAZ", "KGZ"]
    assert second.countries(["KAZ", "KGZ"]) == ["KGZ", "KAZ", "UZB"]


def test_relative_analyst_files_are_relative_to_the_config_file(
    clean_environment: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    path = site / "config.toml"
    path.write_text(
        '[sources.analyst]\nfiles = ["prices.csv", "/abs/other.csv", "https://example.org/x.csv"]\n',
        encoding="utf-8",
    )
    files = load_config(path).sources.analyst.files
    assert files == [
        str(site.resolve() / "prices.csv"),
        "/abs/other.csv",
        "https://example.org/x.csv",
    ]


def test_gdelt_export_options_are_settable_and_checked(
    clean_environment: Path, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[sources.gdelt]\nevents_variant = "15min"\nmax_files_per_run = 8\n', encoding="utf-8"
    )
    gdelt = load_config(path).sources.gdelt
    assert (gdelt.events_variant, gdelt.max_files_per_run) == ("15min", 8)
    path.write_text('[sources.gdelt]\nevents_variant = "hourly"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "sources.gdelt.events_variant" in str(caught.value)
