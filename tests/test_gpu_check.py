"""``scripts/gpu-check.sh`` and ``benchmarks/bench_gpu.py`` on a machine without CUDA.

Every GPU part prints one line saying it was skipped and the script exits 0; the issue-27
parts (torch DIS, the pipeline with the torch flow, decode and encode) run at toy sizes on
the CPU with ``--smoke`` to check the code itself, not its speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CUDA_VISIBLE_DEVICES": ""}


@pytest.mark.slow
def test_gpu_check_skips_every_gpu_part_on_the_cpu(tmp_path):
    started = time.monotonic()
    result = subprocess.run(
        ["bash", "scripts/gpu-check.sh", str(tmp_path)],
        cwd=ROOT,
        env={**ENV, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = (tmp_path / "summary.txt").read_text()
    assert "cuda: 0" in summary
    assert "2. separable convolution on CUDA: skipped (no CUDA device)" in summary
    for part in ("dis", "pipeline", "codec"):
        assert f"no CUDA device here: {part} figures skipped" in (tmp_path / f"bench-{part}.md").read_text()
    assert "where 1080p" not in summary  # the combined summary needs the GPU figures
    assert time.monotonic() - started < 240


@pytest.mark.slow
def test_issue27_parts_run_at_toy_sizes_on_the_cpu(tmp_path):
    figures = tmp_path / "bench-pipeline.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_gpu", "--device", "cpu", "--smoke",
         "--parts", "dis,pipeline,codec", "--json", str(figures)],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    saved = json.loads(figures.read_text())
    assert [(row["size"], row["preset"]) for row in saved["dis"]] == [("toy", "medium"), ("toy", "fine")]
    (pipeline,) = saved["pipeline"]
    assert pipeline["output_fps"] > 0 and pipeline["flow_s_per_pair"] > 0
    assert saved["codec"][0]["decode_fps"] > 0 and saved["codec"][0]["encode_fps"] > 0
    assert "toy ×2:" in result.stdout and "the bound is" in result.stdout
    assert "torch DIS on the device, fp32" in result.stdout
