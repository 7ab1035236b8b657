"""The command line: help, train end to end, one-line user errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from sepgan.cli import app
from synthetic import moving_frames, write_frame_folder

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("train", "interpolate", "prepare", "evaluate", "study"):
        assert command in result.output


def _commands(group, path=()):
    """Every command path of the app: ("interpolate",), ("study", "create"), ..."""
    import typer

    command = typer.main.get_command(app) if not path else group
    for name, child in getattr(command, "commands", {}).items():
        yield (*path, name)
        yield from _commands(child, (*path, name))


def test_every_command_takes_h_and_shows_plain_placeholders():
    commands = [(), *_commands(app)]
    assert ("study", "create") in commands and ("evaluate",) in commands
    for path in commands:
        result = runner.invoke(app, [*path, "-h"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output, path
        # Typer's defaults: "--quiet <bool>", "<list[Path]>", "{inputs}..." in the usage line.
        for placeholder in ("<bool>", "<list[", "{"):
            assert placeholder not in result.output, (path, placeholder, result.output)
    usage = runner.invoke(app, ["interpolate", "-h"], env={"COLUMNS": "200"}).output
    assert "interpolate [OPTIONS] INPUTS..." in usage
    assert "[OVERRIDES]..." in runner.invoke(app, ["train", "-h"], env={"COLUMNS": "200"}).output


def test_version():
    from sepgan import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"sepgan {__version__}\n"


def test_help_says_what_is_accepted():
    from sepgan.datasets import EVALUATION_NAMES
    from sepgan.media.formats import OUTPUT_VIDEO_SUFFIXES

    interpolate = " ".join(runner.invoke(app, ["interpolate", "-h"], env={"COLUMNS": "400"}).output.split())
    assert f"({'/'.join(OUTPUT_VIDEO_SUFFIXES)})" in interpolate and ".avi" in OUTPUT_VIDEO_SUFFIXES
    assert "a whole N from 2 to 1024 (default 2; over 16 needs --allow-high-fps)" in interpolate
    assert "--overwrite -y" in interpolate
    evaluate = " ".join(runner.invoke(app, ["evaluate", "-h"], env={"COLUMNS": "400"}).output.split())
    assert f"one of: {', '.join(EVALUATION_NAMES)}." in evaluate and "frame-folders" in EVALUATION_NAMES
    create = runner.invoke(app, ["study", "create", "-h"], env={"COLUMNS": "400"}).output
    assert "--encoder-preset" in create and "--preset" not in create.replace("--encoder-preset", "")
    assert "--force" not in create  # the old name of --overwrite, hidden
    for path in (["train"], ["prepare"], ["evaluate"], ["compare"], ["study", "create"], ["study", "report"]):
        assert "--overwrite" in runner.invoke(app, [*path, "-h"], env={"COLUMNS": "400"}).output, path


def test_progress_off_a_terminal_is_plain_lines(capsys):
    from sepgan.progress import ProgressLines, progress_bar

    bar = progress_bar(range(3), total=3, desc="prepare", unit="triplet", interval=0)
    assert isinstance(bar, ProgressLines)  # pytest's stderr is no terminal
    assert list(bar) == [0, 1, 2]
    bar.set_postfix_str("clip07")
    bar.close()
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert (
        len(lines) == 3
        and lines[0].startswith("prepare: 1/3 triplets, ")
        and lines[2].startswith("prepare: 3/3")
    )
    quiet = ProgressLines(total=10, desc="train l1", unit="step")  # 30 s between lines
    quiet.update(4)
    quiet.close()
    assert capsys.readouterr().err.startswith("train l1: 4/10 steps, ")  # once at the end


def test_train_runs_from_the_cli_with_overrides_and_resumes(tmp_path):
    write_frame_folder(tmp_path / "clip", moving_frames(6, 40, 40))
    common = [
        "train",
        f"data.paths=[{tmp_path / 'clip'}]",
        "data.crop_size=32",
        "data.batch_size=2",
        "model.name=sepconv-tiny",
        "device=cpu",
        "log_every=1",
        "checkpoint_every=1",
        "--output",
        str(tmp_path / "run"),
        "--no-progress",
    ]
    result = runner.invoke(app, [*common, "max_steps=2"])
    assert result.exit_code == 0, result.output
    assert "finished at step 2" in result.output
    again = runner.invoke(app, [*common, "max_steps=3"])
    assert again.exit_code == 2 and "already holds a run" in again.output
    resumed = runner.invoke(app, [*common, "max_steps=3", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "finished at step 3" in resumed.output
    # The run folder alone is enough to continue: its config.yaml is the base.
    short = runner.invoke(
        app, ["train", "-o", str(tmp_path / "run"), "--resume", "max_steps=4", "--no-progress"]
    )
    assert short.exit_code == 0, short.output
    assert "finished at step 4" in short.output
    # -y starts a new run in the folder instead of refusing it.
    fresh = runner.invoke(app, [*common, "max_steps=1", "-y"])
    assert fresh.exit_code == 0, fresh.output
    assert "finished at step 1" in fresh.output


def test_prepare_writes_a_set_that_train_reads(tmp_path):
    write_frame_folder(tmp_path / "clip", moving_frames(7, 48, 48, shift=(1, 2)))
    result = runner.invoke(
        app,
        [
            "prepare",
            str(tmp_path / "clip"),
            "-o",
            str(tmp_path / "set"),
            "--crop-size",
            "32",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "triplets from 1 sources" in result.output
    trained = runner.invoke(
        app,
        ["train", f"data.paths=[{tmp_path / 'set'}]", "data.crop_size=32", "data.batch_size=2",
         "model.name=flow-sepconv-tiny", "device=cpu", "max_steps=1", "-o", str(tmp_path / "run"),
         "--no-progress"],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output


@pytest.mark.parametrize(
    "arguments,message",
    [
        (["train", "--config", "missing.yaml"], "config file not found"),
        (["train", "data.paths=[/nonexistent/folder]"], "/nonexistent/folder"),
        (["train", "mode=gan"], "mode must be one of"),
        (["train"], "no training data"),
        (["prepare", "/nonexistent/videos", "-o", "/tmp/sepgan-never-written"], "/nonexistent/videos"),
        (["prepare", "/nonexistent/videos", "-o", "/tmp/x", "--gaps", "a,b"], "--gaps must be"),
    ],
)
@pytest.mark.slow
def test_user_errors_are_one_line_without_traceback(arguments, message):
    process = subprocess.run(
        [sys.executable, "-m", "sepgan", *arguments], capture_output=True, text=True, timeout=120, check=False
    )
    assert process.returncode == 2
    assert message in process.stderr
    assert "Traceback" not in process.stderr
    assert len(process.stderr.strip().splitlines()) == 1, process.stderr


def test_importing_the_cli_loads_no_torch():
    code = (
        "import sys, sepgan.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'av')))"
    )
    process = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert process.stdout.strip() == "[]", process.stdout


def test_help_imports_no_heavy_library():
    # --help stays fast by never importing PyTorch, OpenCV, PyAV or NumPy (what made it slow before);
    # checked by what is imported, not by a timing that a loaded machine would fail.
    script = (
        "import sys, runpy; sys.argv = ['sepgan', '--help']\n"
        "try:\n    runpy.run_module('sepgan', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in ('torch', 'cv2', 'av', 'numpy', 'scipy') if m in sys.modules))"
    )
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120, check=False)
    assert b"interpolate" in process.stdout
    assert process.stdout.strip().endswith(b"HEAVY []"), process.stdout[-300:]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00binary \x00\x01", "is not UTF-8 text (byte 0); a config is a YAML file"),
        ("model:\n  name: sepconv\n".encode("utf-16"), "is not UTF-8 text (byte 0)"),
        (b"- a\n- list\n", "must hold a mapping at the top level (key: value lines), not a list"),
        (b"42\n", "must hold a mapping at the top level (key: value lines), not a int"),
        (b"0\n", "must hold a mapping at the top level (key: value lines), not a int"),
        (b"key: [unclosed\n", "is not valid YAML"),
        (None, "is a folder; give a YAML config file"),
    ],
)
def test_a_bad_config_file_is_one_error_line(tmp_path, content, message):
    path = tmp_path / "config.yaml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    result = runner.invoke(app, ["train", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {path}") and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
