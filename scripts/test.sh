#!/usr/bin/env bash
# Install the test dependencies and run the whole suite: lint, types, tests (incl. PostgreSQL and
# real-browser tests). The README's second quick-start command and .ci/run both call this script.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${FLASHPOINT_VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
echo "==> installing Flashpoint with its test dependencies"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e '.[test]'

# Browser tests drive Debian's Chromium (never a downloaded browser: there is no internet).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "==> installing chromium (apt-get)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium is missing: install Debian's 'chromium' package (sudo apt-get install chromium)" >&2
        exit 1
    fi
fi
# The PostgreSQL tests start their own server from these binaries.
if [ ! -x /usr/lib/postgresql/15/bin/initdb ] && [ -z "${FLASHPOINT_SKIP_POSTGRES:-}" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "==> installing postgresql-15 (apt-get)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    fi
fi

echo "==> ruff"
"$VENV/bin/ruff" check .
echo "==> mypy (strict on flashpoint/, fetchers/, indicators/)"
"$VENV/bin/mypy"
echo "==> pytest"
# Two workers (pytest-xdist), one per core; each worker starts its own PostgreSQL server and
# dashboard on free ports in its own temp dirs. FLASHPOINT_TEST_WORKERS=0 runs in one process.
# pytest exits 5 when it collects nothing: that is a failure here, never masked.
exec "$VENV/bin/python" -m pytest -n "${FLASHPOINT_TEST_WORKERS:-2}" "$@"
