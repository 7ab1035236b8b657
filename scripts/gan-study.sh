#!/usr/bin/env bash
# Issue 16 in one command: train both adversarial fine-tunings of the flow generator (and the two
# plain first attempts that docs/gan.md shows failing), plot their curves, compare them with the
# L1 weights on the dev sets and on whole held-out sources, and build the viewing-study kit.
# Every step resumes or is skipped when its output exists, so a stopped run just runs again.
#
# Usage: bash scripts/gan-study.sh [--from WEIGHTS] [--dcgan-step N] [--wgan-step N]
#   --from        the L1 weights to fine-tune and compare against (default sepgan-flow; a later,
#                 better L1 model reruns the whole study from itself, into runs/gan-<name>/)
#   --dcgan-step, --wgan-step   which snapshot of each run to compare (default 800, the shipped
#                 runs' last step; continue a run first with
#                 `sepgan train --config configs/flow-dcgan.yaml --resume max_steps=2000`)
# Needs the footage sets of scripts/footage-recipe.sh (it prepares them when they are missing).
set -euo pipefail
cd "$(dirname "$0")/.."
FROM=sepgan-flow
DCGAN_STEP=800
WGAN_STEP=800
while [ $# -gt 0 ]; do
    case "$1" in
        --from) FROM=$2; shift 2 ;;
        --dcgan-step) DCGAN_STEP=$2; shift 2 ;;
        --wgan-step) WGAN_STEP=$2; shift 2 ;;
        *) echo "error: unknown argument $1" >&2; exit 2 ;;
    esac
done
SEPGAN=.venv/bin/sepgan
PYTHON=.venv/bin/python
VIDEOS=${VIDEOS:-../shared/data/videos}
EVAL=${EVAL:-../shared/data/eval}
NAME=$(basename "$FROM")
RUNS=runs
[ "$FROM" = sepgan-flow ] || RUNS=runs/gan-$NAME
mkdir -p logs "$RUNS"

if [ ! -d data/footage/train ] || [ ! -d data/footage/val ]; then
    bash scripts/footage-recipe.sh --prepare-only
fi

train() {  # config, run folder: train or resume, logging to logs/
    local config=$1 folder=$2 resume=()
    [ -f "$folder/training_state.pt" ] && resume=(--resume)
    $SEPGAN train --config "configs/$config.yaml" -o "$folder" "${resume[@]}" --no-progress \
        model.init_from="$FROM" 2>&1 | tee -a "logs/train-$(basename "$folder").log"
}
# One thread each: two runs side by side use 2 cores better than one run on both.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
train flow-dcgan "$RUNS/flow-dcgan" & train flow-wgan-gp "$RUNS/flow-wgan-gp" & wait
train flow-dcgan-plain "$RUNS/flow-dcgan-plain" & train flow-wgan-gp-plain "$RUNS/flow-wgan-gp-plain" & wait
unset OMP_NUM_THREADS

snapshot() {  # run folder, step or "": the generator to compare
    if [ -n "$2" ]; then printf '%s/generator-step_%06d' "$1" "$2"; else echo "$1/generator"; fi
}
mkdir -p docs/gan
$PYTHON scripts/plot_training.py "$RUNS/flow-dcgan" "$RUNS/flow-wgan-gp" --labels dcgan,wgan-gp \
    --smooth 5 -o docs/gan/curves.png
$PYTHON scripts/plot_training.py "$RUNS/flow-dcgan-plain" "$RUNS/flow-wgan-gp-plain" \
    --labels "dcgan plain (seed set-up),wgan-gp plain" --smooth 3 -o docs/gan/curves-plain.png

HELD=("$VIDEOS"/tune-a-video/*.mp4 "$VIDEOS"/tokenflow/*.mp4 "$VIDEOS"/sttn/*.mp4
      "$VIDEOS"/mdn-interactive-examples/*.mp4 "$VIDEOS"/pips/demo_images)
MODELS=(--model "L1=$FROM" --model "dcgan=$(snapshot "$RUNS/flow-dcgan" "$DCGAN_STEP")"
        --model "wgan-gp=$(snapshot "$RUNS/flow-wgan-gp" "$WGAN_STEP")")
# The dev sets whole; the held-out clips drop-a-frame, their first 8 triplets each.
$SEPGAN compare "${MODELS[@]}" "$EVAL/middlebury-other" "$EVAL/davis" \
    -o "$RUNS/gan-compare/dev" --no-progress 2>&1 | tee "logs/gan-compare-dev-$NAME.log"
$SEPGAN compare "${MODELS[@]}" "${HELD[@]}" --limit 8 \
    -o "$RUNS/gan-compare/held-out" --no-progress 2>&1 | tee "logs/gan-compare-held-$NAME.log"

# The viewing-study kit: a held-out clip at half its frame rate, brought back to full rate by
# the L1 model and by the GAN model, beside the original.
CLIP=$VIDEOS/tune-a-video/rabbit-watermelon.mp4
KIT=$RUNS/gan-study-kit
mkdir -p "$KIT"
[ -f "$KIT/half.mp4" ] || ffmpeg -v error -y -i "$CLIP" \
    -vf "select=not(mod(n\,2)),setpts=N/15/TB" -r 15 -c:v libx264 -crf 12 -pix_fmt yuv420p "$KIT/half.mp4"
[ -f "$KIT/l1.mp4" ] || $SEPGAN interpolate "$KIT/half.mp4" -o "$KIT/l1.mp4" --factor 2 -w "$FROM" -q
[ -f "$KIT/gan.mp4" ] || $SEPGAN interpolate "$KIT/half.mp4" -o "$KIT/gan.mp4" --factor 2 \
    -w "$(snapshot "$RUNS/flow-dcgan" "$DCGAN_STEP")" -q
[ -d "$KIT/study" ] || $SEPGAN study create --original "$CLIP" --candidate "$KIT/l1.mp4" \
    --candidate "$KIT/gan.mp4" --name L1 --name GAN -o "$KIT/study" --slow-motion --artifacts
echo "study kit ready: $SEPGAN study serve $KIT/study"
