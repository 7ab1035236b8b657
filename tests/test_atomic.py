"""sepgan.atomic: whole outputs or none, fsync before the rename, stale temporaries of dead
writers removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sepgan.atomic import (
    AtomicOutput,
    OutputExistsError,
    atomic_output,
    atomic_write,
    check_overwrite,
    ordinary_file_mode,
    remove_stale_temporaries,
)


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


def test_a_long_output_name_gets_a_short_hidden_temporary_name(tmp_path: Path) -> None:
    name = "x" * 240 + ".mp4"  # 244 bytes: with the mark, pid and random part it was over 255
    with atomic_output(tmp_path / name) as temporary:
        assert temporary.name.startswith(".") and temporary.suffix == ".mp4" and len(temporary.name) < 64
        temporary.write_bytes(b"video")
    assert [path.name for path in tmp_path.iterdir()] == [name]


def test_one_overwrite_rule_an_existing_output_needs_overwrite(tmp_path: Path) -> None:
    file, empty, full = tmp_path / "clip.mp4", tmp_path / "empty", tmp_path / "full"
    file.write_bytes(b"x")
    empty.mkdir()
    full.mkdir()
    (full / "000000.png").write_bytes(b"x")
    for path in (file, full):
        with pytest.raises(OutputExistsError, match=f"{path} already exists; use overwrite to replace it"):
            check_overwrite(path, False)
        check_overwrite(path, True)
    check_overwrite(empty, False)  # an empty folder holds no output yet
    check_overwrite(tmp_path / "new.mp4", False)
    error = pytest.raises(OutputExistsError, check_overwrite, file, False).value
    assert error.text({"overwrite": "--overwrite"}).endswith("use --overwrite to replace it")


def test_atomic_write_gives_ordinary_permissions_under_the_umask(tmp_path: Path) -> None:
    # safetensors' save_file makes its files 0600 (--adapt-save wrote model.safetensors so).
    pytest.importorskip("safetensors")
    import torch
    from safetensors.torch import save_file

    previous = os.umask(0o027)
    try:
        atomic_write(tmp_path / "model.safetensors", lambda name: save_file({"w": torch.zeros(2)}, name))
        assert ordinary_file_mode() == 0o640
    finally:
        os.umask(previous)
    assert (tmp_path / "model.safetensors").stat().st_mode & 0o777 == 0o640
