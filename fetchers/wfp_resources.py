"""The wfp source's default HDX resource paths, apart from the fetcher so the config reads them
without importing HTTP."""

from __future__ import annotations

from collections.abc import Mapping

# HDX resource paths (below https://data.humdata.org/dataset) of the per-country files, taken
# from the datasets' download links. CAF, GTM and TUR (added 2026-12) are the download links that
# public projects fetching these files from HDX use, as found in their source by the project's
# code search: CAF and TUR with the dataset's id, GTM with its slug
# ("wfp-food-prices-for-guatemala"), which HDX also resolves. Pakistan has no path here: no public
# source gave its full download link (only the dataset slug and a DataStore resource id, which
# were not combined by guesswork), so PAK falls back to the flat mirror name.
DEFAULT_RESOURCES: Mapping[str, str] = {
    "AFG": "a246cbac-42d5-47b2-ba75-ac66f69e83de/resource/03e6ce5d-03a2-4e60-8d04-afa39c5972f4"
           "/download/wfp_food_prices_afg.csv",
    "BGD": "c76eabb7-fdb5-43b7-a5c4-09091bb8acde/resource/966ab7ac-56d6-4dac-8eba-dfe815d59a52"
           "/download/wfp_food_prices_bgd.csv",
    "ETH": "2e4f1922-e446-4b57-a98a-d0e2d5e34afa/resource/87bac18e-f3aa-4b29-8cf8-76763e823dc5"
           "/download/wfp_food_prices_eth.csv",
    "KEN": "e0d3fba6-f9a2-45d7-b949-140c455197ff/resource/517ee1bf-2437-4f8c-aa1b-cb9925b9d437"
           "/download/wfp_food_prices_ken.csv",
    "LBN": "db0b4fb1-ce11-458e-94e0-3342365a117a/resource/772bc34e-1327-4ada-b2eb-e72020a546f2"
           "/download/wfp_food_prices_lbn.csv",
    "LKA": "0298c598-d312-4771-b564-f4ac4d831f05/resource/3638f0d6-9969-48cf-a919-1d879d037ec6"
           "/download/wfp_food_prices_lka.csv",
    "MMR": "4d052db4-0fb8-47b5-a56a-633fdcf0e55c/resource/4f188cc5-7f6a-4354-95d7-15bd45bb8587"
           "/download/wfp_food_prices_mmr.csv",
    "NGA": "42db041f-7aaf-4ab4-961f-2a12096861e7/resource/12b51155-0cd3-4806-9924-61ede4077591"
           "/download/wfp_food_prices_nga.csv",
    "SOM": "26727d1b-af49-4323-9215-c2ac479abb87/resource/39614bfb-0f9c-4800-8997-e68e41a38ced"
           "/download/wfp_food_prices_som.csv",
    "CAF": "e9f27b34-f511-498c-a7f8-fe8d2321f7ba/resource/cb558a54-357a-4bcd-9edd-30caf65b1bd7"
           "/download/wfp_food_prices_caf.csv",
    "GTM": "wfp-food-prices-for-guatemala/resource/63084d67-8c50-4a24-8b45-4d2c4b7bb2fb"
           "/download/wfp_food_prices_gtm.csv",
    "TUR": "7d7224ed-eff6-421f-9f96-9c8d43905f3c/resource/1e2fc8c9-a192-4019-96fa-9280554d6488"
           "/download/wfp_food_prices_tur.csv",
}
