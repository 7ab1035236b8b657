#!/usr/bin/env bash
# Issue 27's first target: flow-ensemble's PSNR with the torch DIS against OpenCV's DIS, within ±0.05 dB
# on each dev set and on the 13 held-out shared clips.
#
#   bash scripts/dis-torch-parity.sh [OUTDIR]        (default: parity27/)
#
# `sepgan evaluate` takes one --flow-backend for a whole run, so each group of inputs is evaluated
# twice on the CPU, -m flow-ensemble, the same samples: OUTDIR/<group>-opencv, then <group>-torch
# (each a report folder: table.json/.md/.csv, per_sample.csv, montages; a progress line every 30 s
# in the log). After each group scripts/parity_table.py writes the PSNR differences per benchmark
# to OUTDIR/parity.md.
#   devsets: middlebury-other (12 triplets) and davis (30), every sample;
#   clips:   the 13 held-out clips of MODEL.md's "Any-time warps" tables, the first 3 drop-a-frame
#            triplets of each (-n 3), whole frames at their own size.
# A report folder that already has its table.json is kept (so a killed run resumes at the next one);
# delete it to redo it. Data: $SHARED (default ../shared/data beside the repository).
# On 2 shared cores the torch runs take hours (flow-ensemble's 8 DIS calls on one thread: about 10 s
# a 640×480 pair, a minute or more a 1080p one), so start it in the background, niced, one thread:
#   mkdir -p OUTDIR && OMP_NUM_THREADS=1 nohup nice -n 19 bash scripts/dis-torch-parity.sh OUTDIR > OUTDIR/log.txt 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
RESULTS=${1:-parity27}
SHARED=${SHARED:-$PWD/../shared/data}
mkdir -p "$RESULTS"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
V=$SHARED/videos
DEVSETS=("$SHARED/eval/middlebury-other" "$SHARED/eval/davis")
CLIPS=(
    "$V/aot-benchmark/1001_3iEIq5HBY1s" "$V/aot-benchmark/1007_YCTBBdbKSSg"
    "$V/tune-a-video/car-turn.mp4" "$V/tune-a-video/man-surfing.mp4" "$V/tune-a-video/rabbit-watermelon.mp4"
    "$V/mdn-interactive-examples/flower.mp4" "$V/mdn-interactive-examples/friday.mp4"
    "$V/mdn-interactive-examples/stream-of-water.mp4"
    "$V/sttn/dogs_jump_orig.mp4" "$V/sttn/schoolgirls_orig.mp4"
    "$V/pips/demo_images" "$V/tokenflow/wolf.mp4" "$V/tokenflow/woman-running.mp4"
)
for input in "${DEVSETS[@]}" "${CLIPS[@]}"; do
    [ -e "$input" ] || { echo "error: $input is missing (set SHARED=the shared data folder)" >&2; exit 2; }
done

evaluate() {  # evaluate GROUP BACKEND [evaluate arguments...]
    local group=$1 backend=$2 folder="$RESULTS/$1-$2"
    shift 2
    if [ -f "$folder/table.json" ]; then
        echo "== $group, $backend: kept $folder/table.json"
        return
    fi
    echo "== $group, $backend: started $(date -Is)"
    "$PYTHON" -m sepgan evaluate "$@" -m flow-ensemble --device cpu --flow-backend "$backend" \
        -y -o "$folder"
    echo "== $group, $backend: done $(date -Is)"
}

table() {
    "$PYTHON" scripts/parity_table.py "$RESULTS/devsets-opencv" "$RESULTS/devsets-torch" \
        "$RESULTS/clips-opencv" "$RESULTS/clips-torch" > "$RESULTS/parity.md.tmp"
    mv "$RESULTS/parity.md.tmp" "$RESULTS/parity.md"
    cat "$RESULTS/parity.md"
}

echo "commit ${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}, $(nproc) CPUs, OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}"
evaluate devsets opencv "${DEVSETS[@]}"
evaluate devsets torch "${DEVSETS[@]}"
table
evaluate clips opencv "${CLIPS[@]}" -n 3
evaluate clips torch "${CLIPS[@]}" -n 3
table
