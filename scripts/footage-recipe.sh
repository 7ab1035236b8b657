#!/usr/bin/env bash
# Issue 14's data recipe and training run, resumable: prepares the training set from every
# source in ../shared/data/videos except six held-out ones, prepares the held-out validation
# crops, then trains (or resumes) configs/flow-footage.yaml. MODEL.md logs what it gave.
#
# Usage: bash scripts/footage-recipe.sh [extra `sepgan train` overrides, e.g. max_steps=8000]
#        bash scripts/footage-recipe.sh --prepare-only      (the two sets, no training)
set -euo pipefail
cd "$(dirname "$0")/.."
VIDEOS=${VIDEOS:-../shared/data/videos}
HOLDOUT=(aot-benchmark tune-a-video mdn-interactive-examples sttn pips tokenflow)
SEPGAN=.venv/bin/sepgan
mkdir -p data/footage logs
if [ ! -d data/footage/train ]; then
    excludes=()
    for name in "${HOLDOUT[@]}"; do excludes+=(--exclude "$VIDEOS/$name"); done
    $SEPGAN prepare "$VIDEOS" -o data/footage/train "${excludes[@]}" \
        --max-per-source 150 --max-side 960 --workers 2 --no-progress 2>&1 | tee logs/prepare-train.log
fi
if [ ! -d data/footage/val ]; then
    held=()
    for name in "${HOLDOUT[@]}"; do held+=("$VIDEOS/$name"); done
    $SEPGAN prepare "${held[@]}" -o data/footage/val --crop-size 224 --max-per-source 16 \
        --max-side 960 --gaps 1 --stride 4 --seed 1 --workers 2 --no-progress 2>&1 | tee logs/prepare-val.log
fi
[ "${1:-}" = --prepare-only ] && exit 0
resume=()
[ -f runs/flow-footage/training_state.pt ] && resume=(--resume)
exec $SEPGAN train --config configs/flow-footage.yaml "${resume[@]}" "$@"
