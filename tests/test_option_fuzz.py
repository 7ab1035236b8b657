"""Hostile numbers on every option of every command, and hostile config files: one ``error:`` line, exit 2.

The options are walked from the Typer command objects, so an option added later
is fuzzed without touching this file. Every invocation names inputs that do not
exist, and the option checks run before an input is read (the CLI's rule), so
no job starts: a value the checks accept ends at "no such file", a value they
refuse names its flag. Issue 29, item 4.
"""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from sepgan.cli import app

runner = CliRunner()

# Values that broke number parsing before: infinities, not-a-number, an overflow to inf, a negative
# zero, integers past 64 bits.
HOSTILE_NUMBERS = ["inf", "-inf", "nan", "1e400", "-0", "99999999999999999999999", "-99999999999999999999999"]

# Options typed as text that hold numbers.
NUMBERS_AS_TEXT = {("interpolate", "fps"), ("interpolate", "tile"), ("prepare", "gaps")}

# Arguments that make each command stop before any work: its inputs do not exist.
MISSING_INPUTS = {
    "train": ["--config", "missing.yaml"],
    "interpolate": ["missing.mp4", "-o", "out.mp4"],
    "prepare": ["missing", "-o", "out"],
    "evaluate": ["missing"],
    "compare": ["missing", "-m", "a=flow-ensemble", "-o", "out"],
    "study create": ["--original", "missing.mp4", "--candidate", "missing2.mp4", "-o", "out"],
    "study serve": ["missing"],
    "study report": ["missing"],
}


def _commands(command, path=()):
    """(command path, command) for every leaf command under ``command``."""
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def _numeric_options():
    cases = []
    for path, command in _commands(typer.main.get_command(app)):
        for parameter in command.params:
            if not parameter.opts[0].startswith("-"):  # an argument
                continue
            annotation = str(parameter.type_descriptor.annotation)
            if "int" in annotation or "float" in annotation or (path, parameter.name) in NUMBERS_AS_TEXT:
                cases.append((path, parameter.name, max(parameter.opts, key=len)))
    return cases


NUMERIC_OPTIONS = _numeric_options()


def test_the_walk_finds_every_command_and_the_numbers_typed_as_text():
    commands = {path for path, _ in _commands(typer.main.get_command(app))}
    assert commands == set(MISSING_INPUTS), "give a new command its missing inputs here"
    found = {(path, name) for path, name, _ in NUMERIC_OPTIONS}
    assert found >= NUMBERS_AS_TEXT
    assert {("interpolate", "factor"), ("interpolate", "max_memory_mb"), ("study report", "effect")} <= found
    assert len(found) > 40


@pytest.mark.parametrize(
    ("path", "name", "flag"), NUMERIC_OPTIONS, ids=[f"{p} {f}" for p, _, f in NUMERIC_OPTIONS]
)
def test_a_hostile_number_is_one_error_line(tmp_path, monkeypatch, path, name, flag):
    monkeypatch.chdir(tmp_path)
    import sepgan.study.server

    def no_server(*args, **kwargs):
        raise AssertionError("the study server started")

    monkeypatch.setattr(sepgan.study.server, "serve", no_server)
    companion = ["--adapt"] if name.startswith("adapt_") else []  # read only with --adapt
    for value in HOSTILE_NUMBERS:
        result = runner.invoke(app, [*path.split(), *MISSING_INPUTS[path], *companion, f"{flag}={value}"])
        lines = result.output.strip().splitlines()
        shown = f"{path} {flag}={value}: {result.output!r}"
        assert isinstance(result.exception, SystemExit), f"{shown} raised {result.exception!r}"
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), shown
        if value == "nan":  # never a valid number: refused by the option's check, naming it or the text
            assert flag in lines[0] or "'nan'" in lines[0], shown
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "nothing is written"


def test_a_command_line_the_parser_refuses_is_one_error_line():
    result = runner.invoke(app, ["interpolate", "in.mp4", "--factor", "inf"])
    assert result.exit_code == 2
    assert result.output.startswith("error: Invalid value for '--factor'"), result.output
    assert result.output.rstrip().endswith("see 'sepgan interpolate --help'"), result.output
    assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(app, ["interpolate", "in.mp4", "--no-such-option"])
    assert result.exit_code == 2 and result.output.startswith("error: No such option: --no-such-option")
    result = runner.invoke(app, ["study"])  # no subcommand: the help, as before
    assert "report" in result.output and not result.output.startswith("error:")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name: caf\xe9\n", "is not UTF-8 text (byte 9)"),  # Latin-1
        ("model:\n  name: sepconv\n".encode("utf-32"), "is not UTF-8 text (byte 0)"),
        (bytes(range(256)), "is not UTF-8 text"),
        (b'"just a string"\n', "must hold a mapping at the top level (key: value lines), not a str"),
        (b"max_steps: 1e400\n", "max_steps must be a finite number, got inf"),
        (b"max_steps: .nan\n", "max_steps must be a finite number, got nan"),
        (b"seed: -1\n", "seed must be a whole number from 0 to 2^64 - 1, got -1"),
        (b"seed: 99999999999999999999999\n", "seed must be a whole number from 0 to 2^64 - 1"),
    ],
)
def test_a_hostile_config_file_is_one_error_line(tmp_path, content, message):
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    result = runner.invoke(app, ["train", "--config", str(path), f"output_dir={tmp_path / 'run'}"])
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("max_steps=1e400", "max_steps must be a finite number, got inf"),
        ("optim.generator_lr=-1e400", "optim.generator_lr must be a finite number, got -inf"),
        ("data.batch_size=2.5", "data.batch_size must be an integer, got 2.5"),
        ("seed=-0.5", "seed must be an integer"),
    ],
)
def test_a_hostile_override_is_one_error_line(tmp_path, override, message):
    result = runner.invoke(app, ["train", override, f"output_dir={tmp_path / 'run'}"])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
