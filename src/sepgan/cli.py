"""The ``sepgan`` command line: parse arguments and delegate to the library.

User errors (a missing file, a bad config, an unreadable dataset) are printed as
one line on stderr with a non-zero exit; tracebacks are kept for real bugs.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    name="sepgan",
    help="Video frame interpolation with adaptive separable convolution (SepConv), trained with L1 or GANs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

USER_ERROR_EXIT = 2


def _user_error_types() -> tuple[type[BaseException], ...]:
    from sepgan.checkpoint import CheckpointError
    from sepgan.config import ConfigError
    from sepgan.data import DatasetError
    from sepgan.frames import FrameError
    from sepgan.training import TrainingError

    return (ConfigError, CheckpointError, DatasetError, FrameError, TrainingError, FileNotFoundError)


def reports_user_errors(command):
    """Turn the library's user-facing errors into ``error: ...`` and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except _user_error_types() as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(USER_ERROR_EXIT) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more detail.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@app.command(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: sepgan train --config configs/dcgan.yaml data.paths=[data/vimeo_triplet] max_steps=20000",
)
@reports_user_errors
def train(
    overrides: Annotated[
        Optional[list[str]],
        typer.Argument(help="Config overrides as dotted key=value, e.g. optim.generator_lr=1e-4 data.batch_size=16."),
    ] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config file.")] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Run folder (same as output_dir=...).")
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the run in the output folder; without --config its saved config.yaml is used "
            "(only max_steps may change).",
        ),
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Train a SepConv generator: mode l1, dcgan (BCE + λ·L1) or wgan-gp (critic + GP + λ·L1)."""
    from sepgan.config import load_config
    from sepgan.training import train as run_training

    all_overrides = list(overrides or [])
    if output is not None:
        all_overrides.append(f"output_dir={output}")
    if resume and config is None and output is not None and (output / "config.yaml").is_file():
        config = output / "config.yaml"  # continue with the run's own settings
    train_config = load_config(config, all_overrides)
    result = run_training(train_config, resume=resume, progress=progress)
    summary = f"finished at step {result.step}; run folder {result.output_dir}"
    if result.validation_psnr is not None:
        summary += f"; validation PSNR {result.validation_psnr:.2f} dB"
    typer.echo(summary)


# Subcommands that live in their own subpackages. Their modules import only
# Typer at load time, so `sepgan --help` stays fast.
from sepgan.evaluation.cli import evaluate_command  # noqa: E402
from sepgan.study.cli import study_app  # noqa: E402

app.command("evaluate")(evaluate_command)
app.add_typer(study_app, name="study")
