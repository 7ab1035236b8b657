#!/usr/bin/env bash
# Install what the browser test (tests/test_study_browser.py) needs, idempotently:
#   1. Debian's Chromium at /usr/bin/chromium (apt-get, only when missing and apt is usable);
#   2. the `playwright` Python package into the active interpreter (pip, only when missing).
# Playwright's own browser download is never used: the test launches /usr/bin/chromium.
# Always exits 0: when Chromium can't be installed the script says why and the
# browser test skips itself with the same reason.
#
# Usage:  scripts/install-browser.sh            (uses `python` on PATH, e.g. an activated venv)
#         PYTHON=.venv/bin/python scripts/install-browser.sh
set -u

PYTHON="${PYTHON:-python}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    PYTHON=python3
fi

if [ -x /usr/bin/chromium ]; then
    echo "install-browser: chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
elif ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: skipping chromium: apt-get not found (not a Debian-like system)"
else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            SUDO="sudo -n"
        else
            echo "install-browser: skipping chromium: not root and no passwordless sudo"
            SUDO="none"
        fi
    fi
    if [ "$SUDO" != "none" ]; then
        export DEBIAN_FRONTEND=noninteractive
        if $SUDO apt-get update -qq >/dev/null \
            && $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
            echo "install-browser: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
        else
            echo "install-browser: could not install chromium with apt-get (see messages above)"
        fi
    fi
fi

if "$PYTHON" -c "import playwright.sync_api" >/dev/null 2>&1; then
    echo "install-browser: playwright present"
elif "$PYTHON" -m pip install -q playwright; then
    echo "install-browser: installed playwright (no browser download; the test uses /usr/bin/chromium)"
else
    echo "install-browser: could not pip install playwright"
fi
exit 0
