"""The Streamlit dashboard: it only renders what the store and the scoring give it."""
