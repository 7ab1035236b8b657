"""``sepgan study``: create / serve / report. Parses arguments and delegates to the library.

Mounted by the main CLI with ``app.add_typer(study_app, name="study")``. Imports of
PyAV, FastAPI, uvicorn, SciPy and Matplotlib happen inside the commands, so
``sepgan --help`` stays fast. A :class:`~sepgan.study.config.StudyError` (bad
input, unusable folder), like every user error, prints ``error: …`` on stderr and
exits with code 2, without a traceback (:func:`sepgan.errors.reports_user_errors`).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from sepgan.errors import reports_user_errors
from sepgan.options import (
    DEFAULT_X264_PRESET,
    MAX_CRF,
    STUDY_ATTENTION_CHECKS,
    STUDY_CONSENT,
    STUDY_CRF,
    STUDY_HOST,
    STUDY_LAYOUT,
    STUDY_PORT,
    STUDY_SESSIONS_PER_HOUR,
    STUDY_TITLE,
)

study_app = typer.Typer(
    help="Blind A/B viewing study: prepare clips, collect votes in a browser, report the statistics.",
    no_args_is_help=True,
)


class Layout(str, Enum):
    side_by_side = "side-by-side"
    sequential = "sequential"


DEFAULT_LAYOUT = Layout(STUDY_LAYOUT)


@study_app.command()
@reports_user_errors
def create(
    original: Annotated[Path, typer.Option(help="The original (reference) video.")],
    candidate: Annotated[list[Path], typer.Option(help="A method's output video; repeat for several.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Study folder to create.")],
    name: Annotated[
        list[str] | None, typer.Option(help="Method name per --candidate, in order (default: file stem).")
    ] = None,
    start: Annotated[float, typer.Option(help="Seconds to skip at the start of every clip.")] = 0.0,
    duration: Annotated[
        float | None, typer.Option(help="Seconds to keep (default: all that every clip shares).")
    ] = None,
    segments: Annotated[int, typer.Option(min=1, help="Split the span into this many clips.")] = 1,
    slow_motion: Annotated[
        bool,
        typer.Option(help="Also render ½ and ¼ speed copies, so 120 fps can be judged on 60 Hz displays."),
    ] = False,
    artifacts: Annotated[bool, typer.Option(help="Also ask 'which has fewer artifacts?'.")] = False,
    layout: Annotated[
        Layout, typer.Option(help="Show the pair side by side or one after the other.")
    ] = DEFAULT_LAYOUT,
    attention_checks: Annotated[
        int, typer.Option(min=0, help="Trials of two identical clips per participant.")
    ] = STUDY_ATTENTION_CHECKS,
    max_height: Annotated[int | None, typer.Option(help="Scale clips down to at most this height.")] = None,
    crf: Annotated[
        int, typer.Option(min=0, max=MAX_CRF, help=f"x264 quality; {STUDY_CRF} is visually near-lossless.")
    ] = STUDY_CRF,
    encoder_preset: Annotated[
        str, typer.Option("--encoder-preset", help="x264 preset (speed vs size).")
    ] = DEFAULT_X264_PRESET,
    title: Annotated[str, typer.Option(help="Heading of the study page.")] = STUDY_TITLE,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", "-y", help="Replace an output folder that has files in it.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", hidden=True, help="Old name of --overwrite.")] = False,
    consent: Annotated[
        Path | None,
        typer.Option(
            "--consent-file",
            help="Text file with the consent and privacy text shown before the first trial "
            "(default: a text that says what the study records).",
        ),
    ] = None,
    minutes: Annotated[
        int | None,
        typer.Option(help="Minutes taking part takes, shown on the first page (default: estimated)."),
    ] = None,
    completion_code: Annotated[
        str | None,
        typer.Option(
            help="Code shown once every trial is answered, for crowd-sourcing platforms (default: none)."
        ),
    ] = None,
) -> None:
    """Trim, align and encode the clips for the browser, and write study.json."""
    from sepgan.study.clips import create_study
    from sepgan.study.config import StudyError

    consent_text = STUDY_CONSENT
    if consent is not None:
        try:
            consent_text = consent.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StudyError(f"{consent}: cannot read the consent text ({exc})") from exc

    config = create_study(
        original, candidate, output, names=name, start=start, duration=duration, segments=segments,
        slow_motion=slow_motion, ask_artifacts=artifacts, layout=layout.value,
        attention_checks=attention_checks, max_height=max_height, crf=crf, encoder_preset=encoder_preset,
        title=title, overwrite=overwrite or force, consent=consent_text, minutes=minutes,
        completion_code=completion_code,
    )  # fmt: skip
    trials = config.trials
    for note in config.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(
        f"study: {output} ({len(config.methods)} videos, {len(config.clips)} clips, "
        f"{len(config.comparisons)} comparisons, {trials} trials per participant, "
        f"about {config.minutes} min)"
    )


@study_app.command()
@reports_user_errors
def serve(
    study_dir: Annotated[Path, typer.Argument(help="Folder made by `sepgan study create`.")],
    host: Annotated[
        str, typer.Option(help="Address to bind; loopback unless you mean to share it.")
    ] = STUDY_HOST,
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = STUDY_PORT,
    sessions_per_hour: Annotated[
        int,
        typer.Option(
            min=0,
            help=(
                "New participants one client address may start per hour "
                "(0: no limit; raise it behind a proxy)."
            ),
        ),
    ] = STUDY_SESSIONS_PER_HOUR,
) -> None:
    """Serve the voting page; votes go to votes.sqlite3 in the study folder."""
    from sepgan.study.config import load_study_config
    from sepgan.study.server import serve as run_server

    load_study_config(study_dir)  # a folder that is not a study is one error line, before the server starts

    def announce(url: str) -> None:  # once the folder is known to be a study
        typer.echo(f"study page: {url}  (Ctrl-C to stop)")

    run_server(study_dir, host=host, port=port, sessions_per_hour=sessions_per_hour, announce=announce)


@study_app.command()
@reports_user_errors
def report(
    study_dir: Annotated[Path, typer.Argument(help="Folder made by `sepgan study create`.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write the report (default: STUDY/report).")
    ] = None,
    include_flagged: Annotated[
        bool, typer.Option(help="Keep votes from displays slower than the clip's frame rate.")
    ] = False,
    exclude_failed_attention: Annotated[
        bool, typer.Option(help="Drop participants who failed an attention check.")
    ] = True,
    effect: Annotated[
        list[float] | None,
        typer.Option(help="True preference rate for the sample-size estimate (repeat for several)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", "-y", help="Replace a report folder that has files in it.")
    ] = False,
) -> None:
    """Preference rates, Wilson 95% intervals, exact binomial p-values, sample sizes; CSV and PNG."""
    from sepgan.study.report import DEFAULT_EFFECTS, format_text, write_report

    result, paths = write_report(
        study_dir, output, include_flagged=include_flagged,
        exclude_failed_attention=exclude_failed_attention,
        effects=tuple(effect) if effect else DEFAULT_EFFECTS, overwrite=overwrite,
    )  # fmt: skip
    typer.echo(format_text(result))
    typer.echo("\n" + "\n".join(f"wrote {path}" for path in paths.values()))
