"""Multi-process training with torchrun (DDP over gloo on CPU): only rank 0 writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from sepgan.checkpoint import load_training_state
from synthetic import moving_frames, write_frame_folder


@pytest.mark.slow
def test_torchrun_two_processes_train_and_resume(tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not on PATH")
    write_frame_folder(tmp_path / "clip", moving_frames(10, 40, 40))
    run = tmp_path / "run"

    def launch(steps, *extra):
        command = [
            torchrun,
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "sepgan",
            "train",
            f"data.paths=[{tmp_path / 'clip'}]",
            "data.crop_size=32",
            "data.batch_size=2",
            "model.name=sepconv-tiny",
            "device=cpu",
            "log_every=1",
            "checkpoint_every=2",
            "mode=dcgan",
            "discriminator.options={channels: [8, 8, 8, 8]}",
            f"max_steps={steps}",
            "--output",
            str(run),
            "--no-progress",
            *extra,
        ]
        environment = {**os.environ, "OMP_NUM_THREADS": "1"}
        return subprocess.run(
            command, capture_output=True, text=True, timeout=300, env=environment, check=False
        )

    first = launch(2)
    assert first.returncode == 0, first.stderr[-3000:]
    second = launch(4, "--resume")
    assert second.returncode == 0, second.stderr[-3000:]
    assert load_training_state(run / "training_state.pt")["step"] == 4
    # Rank 0 alone logs: one metrics line per logged step, not one per process.
    steps = [
        json.loads(line)["step"]
        for line in (run / "metrics.jsonl").read_text().splitlines()
        if "generator/l1" in line
    ]
    assert steps == [1, 2, 3, 4]
    # Each rank's RNG state is stored so that every rank resumes its own stream.
    assert len(load_training_state(run / "training_state.pt")["rng"]) == 2
