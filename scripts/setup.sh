#!/usr/bin/env bash
# Set up sepgan on a fresh machine: a virtual environment in .venv holding
# PyTorch 2.13.0 (installed first, so that the local CPU wheel is used rather
# than several GB of CUDA packages) and sepgan itself in editable mode.
#
# Usage: bash scripts/setup.sh [EXTRAS]     e.g. bash scripts/setup.sh dev
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet "torch==2.13.0"
if [ -n "$extras" ]; then
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
else
    .venv/bin/python -m pip install --quiet -e .
fi
.venv/bin/python -c "import sepgan, torch; print(f'sepgan {sepgan.__version__} with torch {torch.__version__} is ready in .venv')"
