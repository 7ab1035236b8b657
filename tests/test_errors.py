"""One handler for every command: user errors are one ``error:`` line with exit 2, Ctrl-C exits 130,
SIGTERM 143 and SIGHUP 129."""

from __future__ import annotations

import os
import signal
import time

import pytest
import typer
from typer.testing import CliRunner

from sepgan.checkpoint import CheckpointError
from sepgan.cli import app
from sepgan.config import ConfigError
from sepgan.data import DatasetError
from sepgan.errors import InterpolationError, UserError, reports_user_errors, user_message
from sepgan.evaluation.benchmarks import LayoutError
from sepgan.media.formats import VideoError
from sepgan.media.frames import FrameError
from sepgan.options import OptionError
from sepgan.study.config import StudyError
from sepgan.training import TrainingError

runner = CliRunner()


@pytest.mark.parametrize(
    "error_type",
    [CheckpointError, ConfigError, DatasetError, FrameError, InterpolationError, LayoutError, OptionError,
     StudyError, TrainingError, VideoError],
)  # fmt: skip
def test_every_library_error_is_a_user_error(error_type):
    assert issubclass(error_type, UserError)


def test_parameters_are_fields_of_the_message_filled_from_the_flag_table():
    error = InterpolationError(
        "use either {factor} or {fps}, not both; tile_overlap stays", parameter=("factor", "fps")
    )
    flags = {"factor": "--factor", "fps": "--fps", "tile_overlap": "--tile-overlap", "montage": "--montage"}
    assert user_message(error, flags) == "use either --factor or --fps, not both; tile_overlap stays"
    assert user_message(error) == str(error) == "use either factor or fps, not both; tile_overlap stays"
    assert error.parameters == ("factor", "fps")
    # Values are data too: a path that holds the parameter's name, or braces, stays as it is.
    in_paths = InterpolationError(
        "{montage} {path}: give a video", parameter="montage", path="/data/montage/{montage}.mp4"
    )
    assert user_message(in_paths, flags) == "--montage /data/montage/{montage}.mp4: give a video"
    first = OptionError("{parameter} must be at least 1, got {value}", parameter="workers", value=0)
    assert user_message(first, {"workers": "--workers"}) == "--workers must be at least 1, got 0"
    plain = UserError("a message {with braces} and no parameter")
    assert user_message(plain, flags) == str(plain) == "a message {with braces} and no parameter"


def test_an_error_keeps_its_parameter_across_processes():
    import pickle

    error = pickle.loads(pickle.dumps(OptionError("{crf} must be at most 51", parameter="crf")))
    assert error.parameter == "crf" and user_message(error, {"crf": "--crf"}) == "--crf must be at most 51"


def _mounted(command) -> typer.Typer:
    application = typer.Typer()
    application.command("run")(reports_user_errors(command))
    application.command("noop")(lambda: None)  # a second command keeps `run` a subcommand
    return application


def test_interrupt_exits_130_and_a_user_error_2_with_the_flag():
    def interrupted() -> None:
        raise KeyboardInterrupt

    def bad_option(max_depth: int = typer.Option(3, "--max-depth")) -> None:
        raise UserError("{max_depth} must be at most 10\nmore detail", parameter="max_depth")

    result = runner.invoke(_mounted(interrupted), ["run"])
    assert result.exit_code == 130 and "interrupted" in result.output
    result = runner.invoke(_mounted(bad_option), ["run"])
    assert result.exit_code == 2
    assert result.output == "error: --max-depth must be at most 10\n"


@pytest.fixture
def signal_handlers():
    """The handlers of SIGTERM and SIGHUP put back after a test that let the CLI install its own."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.mark.parametrize(("number", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_stop_a_command_like_ctrl_c(monkeypatch, tmp_path, signal_handlers, number, code):
    import sepgan.evaluation.pipeline as evaluation

    def stopped(*args, **kwargs):
        os.kill(os.getpid(), number)  # a scheduler's kill, a closed terminal
        time.sleep(5)  # the handler interrupts this
        raise AssertionError("the signal did not stop the command")

    monkeypatch.setattr(evaluation, "run_evaluation", stopped)
    result = runner.invoke(app, ["evaluate", str(tmp_path), "--no-progress"])
    assert result.exit_code == code, result.output
    assert result.output == "interrupted\n"


def test_a_stopped_job_says_what_it_kept_and_keeps_the_signal():
    from sepgan.errors import Interrupted

    def stopped() -> None:
        raise Interrupted("3 of 8 segments are complete", signal_number=signal.SIGHUP)

    result = runner.invoke(_mounted(stopped), ["run"])
    assert result.exit_code == 129 and result.output == "interrupted: 3 of 8 segments are complete\n"


def test_evaluate_and_study_use_the_shared_handler(monkeypatch, tmp_path):
    import sepgan.evaluation.pipeline as evaluation

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluation, "run_evaluation", interrupted)
    result = runner.invoke(app, ["evaluate", str(tmp_path), "--no-progress"])
    assert result.exit_code == 130, result.output
    monkeypatch.undo()
    result = runner.invoke(app, ["evaluate", str(tmp_path), "--limit", "0", "--no-progress"])
    assert result.exit_code == 2 and result.output == "error: --limit must be at least 1, got 0\n"
    result = runner.invoke(app, ["study", "report", str(tmp_path / "absent")])
    assert result.exit_code == 2 and result.output.startswith("error: ") and result.output.count("\n") == 1


def test_interpolate_names_its_flags(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    result = runner.invoke(app, ["interpolate", str(tmp_path / "a.png"), "-o", str(tmp_path / "o.mp4"),
                                 "--factor", "2", "--fps", "30"])  # fmt: skip
    assert result.exit_code == 2
    assert result.output == "error: use either --factor or --fps, not both\n"


@pytest.mark.parametrize(
    ("tile", "message"),
    [("abc", "--tile abc: use 'auto', 'none' or a size in pixels"),
     ("40", "--tile 64 px is too small for an overlap of 64 px; use at least 96")],
)  # fmt: skip
def test_the_tile_size_is_checked_in_one_place_and_named_by_its_flag(tmp_path, tile, message):
    import numpy as np
    from PIL import Image

    from sepgan.checkpoint import save_pretrained
    from sepgan.models import create_model

    weights = save_pretrained(create_model("sepconv-tiny"), tmp_path / "tiny")
    for name in ("a.png", "b.png"):
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / name)
    result = runner.invoke(app, ["interpolate", str(tmp_path / "a.png"), str(tmp_path / "b.png"),
                                 "-o", str(tmp_path / "mid.png"), "--weights", str(weights),
                                 "--device", "cpu", "--tile", tile])  # fmt: skip
    assert result.exit_code == 2
    assert result.output == f"error: {message}\n"


def test_every_message_with_a_parameter_is_a_template_naming_it_as_a_field():
    """A lint over the source: ``parameter=`` messages are literal templates (values go in as keywords,
    so braces in a path stay text), and a parameter the message shows is a ``{field}``, so the CLI
    can show it as the flag."""
    import ast
    import re
    from pathlib import Path

    import sepgan

    problems = []
    for path in sorted(Path(sepgan.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            keywords = (
                {k.arg: k.value for k in getattr(node, "keywords", [])} if isinstance(node, ast.Call) else {}
            )
            if "parameter" not in keywords or not node.args:
                continue
            where = f"{path.name}:{node.lineno}"
            template = node.args[0]
            if isinstance(template, ast.JoinedStr):
                problems.append(f"{where}: an f-string; pass the values as keywords")
                continue
            names = keywords["parameter"]
            names = names.elts if isinstance(names, ast.Tuple) else [names]
            if not isinstance(template, ast.Constant) or not all(isinstance(n, ast.Constant) for n in names):
                continue  # built at run time (a concatenated template, a name passed in)
            for name in (n.value for n in names):
                # As a word: not inside a longer name, a path or a file name ("montage.mp4").
                shown = re.search(rf"(?<![\w\-./{{]){re.escape(name)}(?![\w\-./}}])", template.value)
                if shown and "{parameter}" not in template.value:
                    problems.append(f"{where}: {name!r} is written out; make it the field {{{name}}}")
    assert problems == []
