#!/usr/bin/env bash
# Set everything up and run the tests: the venv with the dev and gpu extras, the system
# packages some tests use (Debian's ffmpeg for the minterpolate peer, Chromium
# for the browser test; both optional, their tests skip with a reason when
# missing), then ruff (the rules pinned in pyproject.toml; findings fail the
# run), then pytest. Extra arguments go to pytest, e.g. -m "not slow".
set -euo pipefail
cd "$(dirname "$0")/.."
# gpu = triton (~1 GB): its kernels are tested on CPU under TRITON_INTERPRET=1.
bash scripts/setup.sh dev,gpu
bash scripts/install-system-packages.sh
PYTHON=.venv/bin/python bash scripts/install-browser.sh
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/ruff format --check src tests benchmarks scripts
exec .venv/bin/python -m pytest "$@"
