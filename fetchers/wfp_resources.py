"""The wfp source's default HDX resource paths, apart from the fetcher so the config reads them
without importing HTTP."""

from __future__ import annotations

from collections.abc import Mapping

# HDX resource paths (below https://data.humdata.org/dataset) of the per-country files: HDX
# publishes about 90 "<Country> - Food Prices" datasets, the live fetcher reaches the countries
# listed here. A path is listed only when a public source gave its full download link; no
# dataset or resource id was ever guessed or combined from parts. Every other country (PAK among
# them: no public source gave its full download link, only the dataset slug and a DataStore
# resource id) has WFP rows only from the bundled snapshot (`flashpoint load-snapshot`), which a
# refresh does not update; a configured country without a path falls back to the flat mirror
# name and, against HDX, fails as a warning while the others carry on.
#
# The first nine are the datasets' own download links. The others (CAF, GTM and TUR added
# 2026-11, the rest 2026-12) are the download links that public projects fetching these files
# from HDX use in their source, found by the project's code search; the comment names the
# search's file id(s) and what the file is (the search does not name a hit's repository). GTM is
# given by its dataset slug ("wfp-food-prices-for-guatemala"), which HDX also resolves.
# Where sources disagreed (SDN, BEN) the link most sources share is kept; links found only in one
# West-African scraper whose table also holds a malformed Côte d'Ivoire link (GIN, SLE, LBR,
# GMB, MRT, GNB, CPV, MLI) were left out as unverified.
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
    # 55686072901 (R script, Benin cross-border check), 53539319814 (West-African scraper).
    # 55691235981 names dataset 4fdcd4dc-…-93c9b6539571, the global dataset's id with another
    # tail: not used.
    "BEN": "66c7d54e-0c3b-45e5-9a46-07ea6f195093/resource/7da1ea0a-56c7-450a-af2c-d477745fc856"
           "/download/wfp_food_prices_ben.csv",
    # 55861425905 (R fetch script, "verified URL from CKAN API"), 56047682985, 53539319814.
    "BFA": "bfd82e1f-0296-48a8-ac28-c11e028be5ed/resource/0eca67d6-e297-4f5e-9132-7dc42891b749"
           "/download/wfp_food_prices_bfa.csv",
    # 4662985009, 67373370896 (two versions of a Streamlit app's DATA_URL).
    "CMR": "f6ed9f06-36b9-43b2-97f3-fc0b8e16d155/resource/9deec824-1e42-4a91-b704-b73fd250ec5a"
           "/download/wfp_food_prices_cmr.csv",
    # 57365314443 (Python fetcher, "resource URLs confirmed live via the HDX package_show API").
    "COL": "dd6f3c15-69c0-44c0-8f62-6c5395dcc572/resource/c99063c7-016c-4eef-89dd-9a88db15ad7c"
           "/download/wfp_food_prices_col.csv",
    # 70618301099, 63645976327, 53286908990 and seven more files of several projects.
    "GHA": "626e809c-c4fc-467b-a60c-129acb5e9320/resource/e877350b-146f-4fa7-8690-db9605eea78c"
           "/download/wfp_food_prices_gha.csv",
    # 52198955005 (TypeScript price service).
    "HTI": "a68fe30e-8f20-4ae0-a31c-df3130b96275/resource/eb8e9cd4-51cd-4cc7-a8c6-f0d773fb318e"
           "/download/wfp_food_prices_hti.csv",
    # 47091907859 (Python downloader), 56029848335 (R script), 69585578827 (Python study).
    "IND": "dc663585-4b6f-46ae-a6d6-b2f3e4ea32b5/resource/3b1ff071-6b01-4998-aa62-2f3efb5d4888"
           "/download/wfp_food_prices_ind.csv",
    # 63095247919 (data-source notes: "Status observed 200", 67,644 rows).
    "LBY": "dc632a15-d376-496f-976f-c3282e67bc28/resource/49e3a2ae-629e-46f3-8529-7e1fd0277b24"
           "/download/wfp_food_prices_lby.csv",
    # 68887680111 (PHP market price feed), 66914434293 (JavaScript NAMIS adapter).
    "MWI": "75ecb747-717e-4ce5-b7af-0e13cc95ba63/resource/da3ed5da-d6ad-4a86-b4bc-b77e74d01ab7"
           "/download/wfp_food_prices_mwi.csv",
    # 55861425905 (R fetch script, "verified URL from CKAN API"), 55686072901, 53539319814.
    "NER": "9c2f8da3-c0a5-476d-9035-b9b59172b922/resource/87334563-5dae-4125-9bcc-e9418283a8c9"
           "/download/wfp_food_prices_ner.csv",
    # 68756299493 (JavaScript adapter's last-known-good download link).
    "NIC": "b89df9fc-3522-4950-80d0-e384059c2376/resource/9fa93b8c-3b50-4db5-a67b-97c079eb3269"
           "/download/wfp_food_prices_nic.csv",
    # 54914309788, 55037381365 (TypeScript scraper and its seeding script).
    "NPL": "0e8b1b84-8e55-4aec-bc45-0c7d2c92d32e/resource/10bae3d7-82bf-4caf-a216-5fb4a8ff6e43"
           "/download/wfp_food_prices_npl.csv",
    # 59864078046, 32202542269, 52014292820 and five more files of several projects.
    "PHL": "ea251823-8694-47b4-82d0-7d27f00e8aba/resource/9a842d72-0d7d-4922-ad0e-eb8106c1ab0e"
           "/download/wfp_food_prices_phl.csv",
    # 49229290757 (TypeScript WFP service), 53707947875 (R script) and six notes.
    "PSE": "7d06b059-5831-4101-aa68-6d9123ad65b7/resource/b82509ec-d48e-41d7-b376-af51c7f66737"
           "/download/wfp_food_prices_pse.csv",
    # 71259783933 (Python pipeline step, with the same dataset's markets file), 59618219692,
    # 56077036217 and six more files of several projects.
    "RWA": "a4a84c1c-81d1-491b-9fbe-1955ae736508/resource/8c22eeb5-cc2e-46bc-8a0d-08b7486b2486"
           "/download/wfp_food_prices_rwa.csv",
    # 57365314443, 65794085269, 66022403000, 66066184440. 66027443357 names another pair
    # (cb496eb6-…/11a511c9-…), found nowhere else: not used.
    "SDN": "369e003b-f0af-4e48-99d7-34fc85b44635/resource/8fea18b2-615f-4af5-9bd5-85cc31a25ffd"
           "/download/wfp_food_prices_sdn.csv",
    # 63186230726 (Python fetch script, with the markets file), 53539319814.
    "SEN": "77b76bc7-1edd-43f6-a5e4-784498ff6aca/resource/04ffc070-6d05-4653-a9f6-9f3f893a229e"
           "/download/wfp_food_prices_sen.csv",
    # 68581814709 (data-source notes, "verified, 7,822 rows"), 68690116696 (adapter fallback).
    "SLV": "0ff64070-c95b-4962-9d99-09d989d43f75/resource/843fb265-6f80-4d86-ae41-ef89b6daff15"
           "/download/wfp_food_prices_slv.csv",
    # 56781194988 (Python probe printing the HTTP status), 53539319814.
    "TGO": "f6b47ff7-48aa-4e13-b2e7-e5e487d43c19/resource/13b52287-f019-49a3-aa56-1480f2aab026"
           "/download/wfp_food_prices_tgo.csv",
    # 70306470797, 55660923311 (two Python projects).
    "TZA": "5090d858-a300-49fe-a953-4ec4e3526fc2/resource/2ff38c1a-a8f7-45b2-9209-090200c859da"
           "/download/wfp_food_prices_tza.csv",
    # 59901121175 (TypeScript monthly refresh), 70652702837 (with the markets file) and eight
    # more files of several projects.
    "UGA": "883929b1-521e-4834-97f5-0ccc2df75b89/resource/e082d683-cad5-4dcd-bf54-db76ae254d33"
           "/download/wfp_food_prices_uga.csv",
    # 41963368064, 44375590942 (two Python projects).
    "UKR": "9b95de1b-d4e9-4c81-b2bb-db35bd9620e8/resource/1730560f-8e9f-4999-bec8-72118ac0ee5f"
           "/download/wfp_food_prices_ukr.csv",
    # 57365314443 (as COL).
    "VEN": "a3800f18-0126-4911-917e-2b2a9415d909/resource/706f628f-98e4-4bf9-a077-5ef85c83aa77"
           "/download/wfp_food_prices_ven.csv",
    # 71411813638 (Python script reading its fuel and food rows).
    "YEM": "98574e10-6866-4f13-a2b1-3c8312801af5/resource/2f0c1d18-d42d-4e43-b928-1bd1fc7f6c90"
           "/download/wfp_food_prices_yem.csv",
    # 52407861168 (TypeScript live price service), 58006588682, 52092600799.
    "ZMB": "3f74001c-3554-4c54-bd86-c66208563316/resource/d9a34dc4-ff1d-43bf-9592-03d12d027848"
           "/download/wfp_food_prices_zmb.csv",
    # 66122210433 (Python config, with the same dataset's markets file).
    "ZWE": "d878cfac-a45f-48bd-8460-a2e16ab0ea94/resource/7c48c192-36d4-422e-996d-19cc62e2e4fd"
           "/download/wfp_food_prices_zwe.csv",
}
