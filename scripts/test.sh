#!/usr/bin/env bash
# Set everything up and run the tests: the venv with the dev extras, the system
# packages some tests use (Debian's ffmpeg for the minterpolate peer, Chromium
# for the browser test; both optional, their tests skip with a reason when
# missing), then pytest. Extra arguments go to pytest, e.g. -m "not slow".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
bash scripts/install-system-packages.sh
PYTHON=.venv/bin/python bash scripts/install-browser.sh
exec .venv/bin/python -m pytest "$@"
