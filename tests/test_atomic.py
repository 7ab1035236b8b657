"""sepgan.atomic: whole outputs or none, fsync before the rename, stale temporaries of dead
writers removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sepgan.atomic import AtomicOutput, atomic_output, remove_stale_temporaries


def test_a_file_appears_only_when_complete_and_keeps_its_suffix(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    with atomic_output(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".clip.mp4.sepgan-tmp-")
        assert temporary.suffix == ".mp4"  # PyAV and Matplotlib pick the format from it
        temporary.write_bytes(b"data")
        assert not target.exists()
    assert target.read_bytes() == b"data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_any_exception_leaves_the_old_output_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_output(target) as temporary:
        temporary.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_folder_replaces_an_empty_one_and_a_full_one_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    target.mkdir()
    with atomic_output(target, folder=True) as temporary:
        (temporary / "0.png").write_bytes(b"a")
    assert [p.name for p in target.iterdir()] == ["0.png"]
    with pytest.raises(OSError), atomic_output(target, folder=True) as temporary:
        (temporary / "1.png").write_bytes(b"b")
    with atomic_output(target, folder=True, replace=True) as temporary:
        (temporary / "1.png").write_bytes(b"b")
    assert [p.name for p in target.iterdir()] == ["1.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


def test_a_later_write_removes_the_temporaries_of_a_killed_writer(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    # A writer that is SIGKILLed mid-write: its temporary file and folder stay behind.
    code = (
        "import os, sys\n"
        "from sepgan.atomic import AtomicOutput\n"
        "file = AtomicOutput(sys.argv[1]); file.temporary.write_bytes(b'half')\n"
        "AtomicOutput(sys.argv[1], folder=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    process = subprocess.run([sys.executable, "-c", code, str(target)], check=False, timeout=60)
    assert process.returncode == -9
    stale = sorted(p.name for p in tmp_path.iterdir())
    assert len(stale) == 2 and all(name.startswith(".model.safetensors.sepgan-tmp-") for name in stale)
    # A live writer's temporary (this process, or another running one) is never touched.
    live = AtomicOutput(target)
    live.temporary.write_bytes(b"in progress")
    other = tmp_path / f".model.safetensors.sepgan-tmp-{os.getppid()}-00000000"
    other.write_bytes(b"another writer")
    with atomic_output(target) as temporary:
        temporary.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [target.name, live.temporary.name, other.name]
    )
    live.discard()
    assert remove_stale_temporaries(target) == []
