#!/usr/bin/env bash
# Everything that needs a GPU, in one run of a few minutes, written to one folder.
#
#   bash scripts/gpu-check.sh [OUTDIR]          (default: $OUT if set, else gpu-check/)
#   bash scripts/gpu-check.sh --fetch-wheels    (here, with internet: fill .gpu-wheels/ for a machine without)
#
# On a lent GPU machine (BENCHMARKS.md, "Waiting for a GPU"): first fetch the wheels here, then run
#   device.run  command="bash scripts/gpu-check.sh"  carry=[".gpu-wheels"]  timeout_s=540
# The machine's own python3 (with CUDA PyTorch and Triton) is used; the packages sepgan needs that it
# lacks (PyAV) are installed from .gpu-wheels/ with no index. Parts, each under its own time limit
# (together at most 460 s, so the whole run stays within 8 minutes):
#   1. pytest -m gpu: the Triton kernels against the reference, gradients included;
#   2. benchmarks/bench_separable_conv.py: Triton vs the reference on CUDA, % of measured peak;
#   3. benchmarks/bench_gpu.py: 1080p ×2 with the bundled models in bf16 (fps, DIS-on-CPU vs
#      network-on-GPU time), the paper SepConv at 1080p, training steps/s at batch 16 of 128²;
#   4. torch DIS on CUDA (issue 27): medium and fine, 4 variants × 2 directions batched, 720p/1080p/4K;
#   5. the default pipeline ×2 with --flow-backend torch in fp32 at 720p, 1080p and 4K;
#   6. decoding alone and H.264 encoding alone at the same sizes, and where 1080p ×2's time goes
#      against real time (60 output fps).
# Without CUDA each GPU part prints a line saying it was skipped and the script still exits 0,
# so it can be tried on any machine (tests/test_gpu_check.py runs it on the CPU).
set -uo pipefail
cd "$(dirname "$0")/.."
# This checkout's venv where there is one (it does not travel to a lent machine), else the machine's python3.
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

if [ "${1:-}" = "--fetch-wheels" ]; then
    # The lent machines run Python 3.12 on x86-64 (.library/device/KINDS.md).
    exec "$PYTHON" -m pip download --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 \
        --platform manylinux2014_x86_64 --no-deps -d .gpu-wheels "av>=12"
fi

RESULTS=${1:-${OUT:-gpu-check}}
mkdir -p "$RESULTS"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if ! "$PYTHON" -c "import av" 2>/dev/null && [ -d .gpu-wheels ]; then
    "$PYTHON" -m pip install -q --no-index --find-links .gpu-wheels av
fi

log() { echo "== $*" | tee -a "$RESULTS/summary.txt"; }
: >"$RESULTS/summary.txt"
HAS_CUDA=$("$PYTHON" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
log "$(date -u +%FT%TZ) python: $("$PYTHON" --version 2>&1), cuda: $HAS_CUDA, cpus: $(nproc)"
[ "$HAS_CUDA" = 1 ] && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$RESULTS/summary.txt"

log "1. pytest -m gpu (Triton kernels vs the reference)"
timeout 80 "$PYTHON" -m pytest -q -m gpu -p no:cacheprovider tests 2>&1 | tee "$RESULTS/pytest-gpu.txt" | tail -3 | tee -a "$RESULTS/summary.txt"

if [ "$HAS_CUDA" = 1 ]; then
    log "2. separable convolution on CUDA (benchmarks/bench_separable_conv.py --quick)"
    timeout 60 "$PYTHON" -m benchmarks.bench_separable_conv --quick 2>&1 | tee "$RESULTS/bench-separable-conv.md" | tail -12 | tee -a "$RESULTS/summary.txt"
else
    log "2. separable convolution on CUDA: skipped (no CUDA device)"
fi

log "3. whole-video 1080p, paper SepConv, training steps (benchmarks/bench_gpu.py)"
timeout 100 "$PYTHON" -m benchmarks.bench_gpu --json "$RESULTS/bench-gpu.json" 2>&1 | tee "$RESULTS/bench-gpu.md" | tee -a "$RESULTS/summary.txt"

# Issue 27's parts; bench_gpu prints one skipped line each without CUDA. A part stopped by its
# timeout keeps the figures it had written to its JSON file; the summary line is printed last.
part() {  # part NUMBER SECONDS NAME TITLE
    log "$1. $4 (benchmarks/bench_gpu.py --parts $3)"
    timeout "$2" "$PYTHON" -m benchmarks.bench_gpu --parts "$3" --json "$RESULTS/bench-$3.json" 2>&1 \
        | tee "$RESULTS/bench-$3.md" | tee -a "$RESULTS/summary.txt"
    [ "${PIPESTATUS[0]}" = 124 ] && log "$1. stopped after $2 s"
}
part 4 60 dis "torch DIS on CUDA, fp32, 720p/1080p/4K"
part 5 120 pipeline "the default pipeline ×2, --flow-backend torch, fp32, 720p/1080p/4K"
part 6 40 codec "decode alone, encode alone, 720p/1080p/4K"
if [ "$HAS_CUDA" = 1 ]; then
    log "where 1080p ×2's time goes (pipeline, dis and codec figures together)"
    "$PYTHON" -m benchmarks.bench_gpu --summarise "$RESULTS" 2>&1 | tee -a "$RESULTS/summary.txt"
fi
log "done; results in $RESULTS/"
