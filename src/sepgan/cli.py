"""The ``sepgan`` command line: parse arguments and delegate to the library.

User errors (a missing file, a bad config, an unreadable dataset: every
:class:`sepgan.errors.UserError`) are printed as one line on stderr with exit
code 2 by :func:`sepgan.errors.reports_user_errors`, which wraps every command,
``evaluate`` and ``study`` included; Ctrl-C exits 130. Tracebacks are kept for
real bugs. An error about an option names its library parameter, which the
handler shows as the flag declared for it here: so each command's parameters
carry the library's names (``batch_size`` is ``--batch``). Defaults and checks
are :mod:`sepgan.options`'.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sepgan.cli_format import SepganGroup
from sepgan.errors import (
    InterpolationError,
    Interrupted,
    UserError,
    command_flags,
    reports_user_errors,
    usage_error_line,
    user_message,
)
from sepgan.loading import ModelSpec, load_interpolator  # noqa: F401  load_interpolator: re-exported
from sepgan.media.formats import OUTPUT_VIDEO_SUFFIXES
from sepgan.options import (
    DEFAULT_ADAPT_SECONDS,
    DEFAULT_ADAPT_STEPS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CODEC,
    DEFAULT_CRF,
    DEFAULT_FLOW_BACKEND,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MEMORY_TARGET_MB,
    DEFAULT_PREPARE_CROP_SIZE,
    DEFAULT_PREPARE_FLOW_PRESET,
    DEFAULT_PREPARE_FLOW_VARIANTS,
    DEFAULT_PREPARE_GAPS,
    DEFAULT_PREPARE_STRIDE,
    DEFAULT_PREPARE_WORKERS,
    DEFAULT_SCENE_THRESHOLD,
    DEFAULT_SEED,
    DEFAULT_SEGMENT_SECONDS,
    DEFAULT_TILE,
    HIGH_RATE_RATIO,
    MAX_CRF,
    MAX_DEPTH,
    check_flow_backend,
    resolve_model,
)

if TYPE_CHECKING:
    pass

try:  # Typer 0.2x carries its own copy of Click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older Typer on Click
    from click.exceptions import NoArgsIsHelpError, UsageError  # type: ignore[no-redef]


class _Commands(SepganGroup):
    """sepgan's command group: ``-h`` on every command and plain placeholders
    (:class:`sepgan.cli_format.SepganGroup`), and a command line the parser refuses (``--factor
    inf``, an unknown option, a missing argument) is one ``error:`` line and exit 2, like every
    other user error, instead of Click's usage box."""

    def make_context(self, *args, **kwargs):
        with _one_line_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _one_line_usage_errors():  # a subcommand's own options are parsed here
            return super().invoke(ctx)


@contextlib.contextmanager
def _one_line_usage_errors():
    try:
        yield
    except NoArgsIsHelpError:  # `sepgan` alone, `sepgan study`: the help, as before
        raise
    except UsageError as error:
        path = error.ctx.command_path if error.ctx is not None else None
        typer.echo(usage_error_line(error.format_message(), path), err=True)
        raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    cls=_Commands,
    name="sepgan",
    help="Video frame interpolation with adaptive separable convolution (SepConv), trained with L1 or GANs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from sepgan import __version__

        typer.echo(f"sepgan {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more detail.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    # SIGTERM (kill, a scheduler's timeout) and SIGHUP (a closed terminal, a dropped ssh
    # session) unwind like Ctrl-C, so writers remove their temporary files instead of leaving
    # a hidden partial output behind; the exit status is 128 + the signal (143, 129). SIGQUIT
    # keeps its default (stop at once, core dump): what it leaves is a hidden temporary, never
    # the output's name, and the next run to that output removes it (sepgan.atomic).
    for stop in (signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):  # Windows has no SIGHUP
        signal.signal(stop, _interrupt)


def _interrupt(signum, frame) -> None:
    raise Interrupted(signal_number=signum)


@app.command(
    # "\\[" keeps the bracket: Rich reads [data/...] as markup and drops it.
    epilog=(
        "Example: sepgan train --config configs/dcgan.yaml data.paths=\\[data/vimeo_triplet] max_steps=20000"
    ),
)
@reports_user_errors
def train(
    overrides: Annotated[
        list[str] | None,
        typer.Argument(
            help="Config overrides as dotted key=value, e.g. optim.generator_lr=1e-4 data.batch_size=16."
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Run folder (same as output_dir=...).")
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
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", "-y", help="Start a new run in a run folder that has files in it (not --resume)."
        ),
    ] = False,
) -> None:
    """Train a SepConv generator: mode l1, dcgan (BCE + λ·L1) or wgan-gp (critic + GP + λ·L1)."""
    from sepgan.config import load_train_config
    from sepgan.training import train as run_training

    all_overrides = list(overrides or [])
    if output is not None:
        all_overrides.append(f"output_dir={output}")
    if resume and config is None and output is not None and (output / "config.yaml").is_file():
        config = output / "config.yaml"  # continue with the run's own settings
    train_config = load_train_config(config, all_overrides)
    result = run_training(train_config, resume=resume, progress=progress, overwrite=overwrite)
    summary = f"finished at step {result.step}; run folder {result.output_dir}"
    if result.validation_psnr is not None:
        summary += f"; validation PSNR {result.validation_psnr:.2f} dB"
    typer.echo(summary)


@app.command(
    epilog=(
        "Examples: sepgan interpolate A.png B.png -o mid.png | "
        "sepgan interpolate frames/ -o out/ --factor 4 | "
        "sepgan interpolate film.mp4 -o film60.mp4 --fps 60 | "
        "sepgan interpolate in.mp4 -o out.mp4 --factor 3 | "
        "sepgan interpolate in.mp4 -o slow.mp4 --slowmo 4 | "
        "sepgan interpolate a.mp4 b.mov clips/ -o out/ --fps 60 | "
        "sepgan interpolate in.mp4 (writes in_2x.mp4)"
    ),
)
@reports_user_errors
def interpolate(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Two images (frame0 frame1), a folder of frames, or a video; or several videos and "
            "frame folders, or a folder of videos: a batch, one output each.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Image for a pair; folder for frames; video "
            f"({'/'.join(OUTPUT_VIDEO_SUFFIXES)}) or folder (PNG); a folder "
            "for a batch. Without it (not for a pair) each output is named beside its input, e.g. "
            "clip_2x.mp4, and one that exists is skipped (replaced with -y).",
            show_default=False,
        ),
    ] = None,
    factor: Annotated[
        int | None,
        typer.Option(
            "--factor",
            "-f",
            help=(
                f"×N frames: a whole N from 2 to {2**MAX_DEPTH} (default 2; over {HIGH_RATE_RATIO} needs "
                "--allow-high-fps); flow-ensemble warps straight to each time, models with a network "
                "(sepgan-flow, sepgan-gan) take powers of two only."
            ),
        ),
    ] = None,
    fps: Annotated[
        str | None,
        typer.Option(
            "--fps",
            help=(
                "Target frame rate for videos, at least the input's: 60, 59.94 or 60000/1001; each "
                "frame at its exact time with flow-ensemble."
            ),
        ),
    ] = None,
    slowmo: Annotated[
        int | None,
        typer.Option(
            "--slowmo",
            help="N× slow motion: the frames of --factor N at the input's frame rate, so the video lasts "
            "N× longer; audio is time-stretched (atempo, pitch kept), subtitles retimed. On a frame "
            "folder, the same frames as --factor N.",
            show_default=False,
        ),
    ] = None,
    allow_high_fps: Annotated[
        bool,
        typer.Option(
            "--allow-high-fps",
            help="Allow a target (--fps, --factor or --slowmo) over 16× the input's frame rate.",
        ),
    ] = False,
    max_depth: Annotated[
        int,
        typer.Option(
            "--max-depth",
            help=(
                "Models with a network only (they bisect): the finest step for --fps is 1/2^depth "
                "of an input interval."
            ),
        ),
    ] = DEFAULT_MAX_DEPTH,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            "-w",
            help=(
                "Weights folder (from sepgan train) or bundled name: flow-ensemble (default; any "
                "time), sepgan-flow or sepgan-gan (middle frame only: bisection)."
            ),
        ),
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    precision: Annotated[str, typer.Option("--precision", help="auto, fp32, bf16 or fp16.")] = "auto",
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch",
            help="Frame pairs per batch at most: fewer to fit --max-memory-mb, and on a CPU no more than "
            "give every DIS thread a call.",
        ),
    ] = DEFAULT_BATCH_SIZE,
    tile: Annotated[
        str,
        typer.Option(
            "--tile",
            help=(
                "Tile size in px (rounded up to the model's size multiple), "
                "'auto' (by --max-memory-mb) or 'none'."
            ),
        ),
    ] = DEFAULT_TILE,
    tile_overlap: Annotated[
        int | None, typer.Option("--tile-overlap", help="Feathered overlap between tiles in px.")
    ] = None,
    max_memory_mb: Annotated[
        float | None,
        typer.Option(
            "--max-memory-mb",
            help="Cap on the whole process's peak memory (RSS), MB: Python, the model, decoding, frames in "
            "flight, optical flow (DIS), the network and the encoder. Fewer pairs per batch, no flow-ahead, "
            "fewer DIS threads and then tiles are chosen to fit; a frame size that cannot fit is refused. "
            f"Default: aim at {DEFAULT_MEMORY_TARGET_MB} MB as estimated, without giving up DIS threads "
            "(1080p ×2 peaked at 1.9 GB on 2 cores; more DIS threads on more cores take more).",
            show_default=False,
        ),
    ] = None,
    codec: Annotated[
        str,
        typer.Option(
            "--codec",
            help="auto (.webm: vp9, other video suffixes: h264, no suffix: png), h264, hevc, av1, vp9, "
            "prores (422 HQ, .mov), ffv1 (lossless, .mkv) or png.",
        ),
    ] = DEFAULT_CODEC,
    crf: Annotated[
        int | None,
        typer.Option(
            "--crf",
            help=f"Quality, lower is better: h264 0–{MAX_CRF} (default {DEFAULT_CRF}), hevc 0–51 (20), "
            "av1 0–63 (28), vp9 0–63 (24); prores, ffv1 and png have none.",
            show_default=False,
        ),
    ] = None,
    encoder_preset: Annotated[
        str | None,
        typer.Option(
            "--encoder-preset",
            help="The encoder's speed against size: h264 and hevc ultrafast … placebo (default medium), "
            "av1 13 (fastest) … 0 (default 8), vp9 8 … 0 (default 2).",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        float,
        typer.Option("--start", help="Videos: seconds of the input to skip (ffmpeg's -ss)."),
    ] = 0.0,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            help="Videos: seconds of the input to keep from --start (ffmpeg's -t; default: to the end); "
            "audio and subtitles are trimmed to match.",
            show_default=False,
        ),
    ] = None,
    scene_threshold: Annotated[
        float,
        typer.Option(
            "--scene-threshold",
            help="Scene cut: a thumbnail change above this many grey levels (0–255) that also stands "
            "3× above its neighbours'; 255 disables.",
        ),
    ] = DEFAULT_SCENE_THRESHOLD,
    montage: Annotated[
        Path | None,
        typer.Option("--montage", help="Videos only: also write an original | interpolated video here."),
    ] = None,
    overlap: Annotated[
        bool,
        typer.Option("--overlap/--no-overlap", help="Decode, infer and encode in parallel threads."),
    ] = True,
    compile_model: Annotated[
        bool,
        typer.Option(
            "--compile/--no-compile",
            help="torch.compile the network (faster per frame; recompiles for each new frame or tile size).",
        ),
    ] = False,
    flow_variants: Annotated[
        int | None,
        typer.Option(
            help="Flow-guided models: DIS estimates per pair, 1-4 mirrorings (default: the model's; "
            "the bundled model uses 4, 1 is faster and a little worse).",
            show_default=False,
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            help="Speed against quality: fast (one flow each way, no ensemble), balanced (the default model) "
            "or best (the learned network); instead of --weights and --flow-variants.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="CPU threads for optical flow (DIS), the bulk of the default model's work "
            "(default: every CPU this process may use).",
            show_default=False,
        ),
    ] = None,
    flow_backend: Annotated[
        str,
        typer.Option(
            "--flow-backend",
            help="Who computes optical flow: opencv (CPU threads), torch (on --device) or auto "
            "(torch on a CUDA or MPS device, OpenCV on the CPU).",
        ),
    ] = DEFAULT_FLOW_BACKEND,
    adapt: Annotated[
        bool,
        typer.Option(
            "--adapt/--no-adapt",
            help="First fine-tune the network on the input's own frames (videos and frame folders); "
            "kept only if it beats the unadapted model on held-out frames of the input.",
        ),
    ] = False,
    adapt_steps: Annotated[
        int, typer.Option("--adapt-steps", help="Adaptation: optimiser steps at most.")
    ] = DEFAULT_ADAPT_STEPS,
    adapt_seconds: Annotated[
        float,
        typer.Option("--adapt-seconds", help="Adaptation: time budget in seconds (whichever comes first)."),
    ] = DEFAULT_ADAPT_SECONDS,
    adapt_save: Annotated[
        Path | None,
        typer.Option(
            "--adapt-save", help="Adaptation: also save the adapted weights here (reuse with --weights)."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Adaptation: seed of the triplets, crops and flips.")
    ] = DEFAULT_SEED,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            help="Segments at once, in worker processes (each with its share of the cores and its own "
            "model); with --cluster, Ray actors (default: one per cluster CPU).",
        ),
    ] = 1,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue a stopped job from its work folder (OUTPUT.sepgan-work); an existing output "
            "is still refused without -y.",
        ),
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Remove a stopped job's work folder and start over.")
    ] = False,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Run the segments on a Ray cluster: auto (started with `ray start`), HOST:PORT, "
            "ray://HOST:PORT, or local (a Ray instance on this machine). Every node must see the input "
            "and output paths (a shared file system). Needs sepgan[cluster].",
            show_default=False,
        ),
    ] = None,
    segment_seconds: Annotated[
        float,
        typer.Option(
            "--segment-seconds",
            help="Input seconds per segment of a long job (frame folders: 25 frames a second); "
            "a stop loses at most the segments running.",
        ),
    ] = DEFAULT_SEGMENT_SECONDS,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", "-y", help="Replace an output (and --montage, --adapt-save) that exists."
        ),
    ] = False,
) -> None:
    """Interpolate frames: the middle of two images, ×N a frame folder, or retime a video (or many)."""
    from sepgan.atomic import check_overwrite
    from sepgan.batch import is_batch
    from sepgan.jobs import InterpolateOptions, JobResult, run_interpolate
    from sepgan.media.fps import parse_fps
    from sepgan.options import check_interpolator_options, parse_tile

    # Every number is checked before an input is read or the model loads.
    check_interpolator_options(
        batch_size=batch_size, tile_overlap=tile_overlap, max_memory_mb=max_memory_mb, workers=workers
    )
    check_flow_backend(flow_backend)
    resolve_model(weights, preset=preset, flow_variants=flow_variants)  # a preset excludes the other two
    tile_size = parse_tile(tile)
    model = ModelSpec(
        weights=None if weights is None else str(weights),
        preset=preset,
        flow_variants=flow_variants,
        device=device,
        precision=precision,
        batch_size=batch_size,
        tile=tile_size,
        tile_overlap=tile_overlap,
        compile=compile_model,
        workers=workers,
        flow_backend=flow_backend,
    )
    options = InterpolateOptions(
        factor=factor,
        fps=parse_fps(fps) if fps is not None else None,
        slowmo=slowmo,
        allow_high_fps=allow_high_fps,
        max_depth=max_depth,
        codec=codec,
        crf=crf,
        encoder_preset=encoder_preset,
        start=start,
        duration=duration,
        scene_threshold=None if scene_threshold == 255 else scene_threshold,  # 256 is an error, not "off"
        montage=montage,
        overwrite=overwrite,
        progress=not quiet,
        overlap=overlap,
        max_memory_mb=max_memory_mb,
        segment_seconds=segment_seconds,
        jobs=jobs,
        cluster=cluster,
        resume=resume,
        restart=restart,
        model=model,
    )

    adapt_options = None
    if adapt:
        from sepgan.adapt import AdaptOptions

        if is_batch(inputs):
            raise InterpolationError(
                "--adapt learns from one video or frame folder; give the inputs of a batch one at a time"
            )
        if len(inputs) != 1:
            raise InterpolationError(
                "--adapt learns from a video or a frame folder; an image pair has no triplets"
            )
        if jobs > 1 or cluster is not None:
            raise InterpolationError(
                "--adapt fine-tunes the model in this process; for --jobs or --cluster save it with "
                "--adapt-save FOLDER first and pass --weights FOLDER"
            )
        adapt_options = AdaptOptions(
            steps=adapt_steps,
            seconds=adapt_seconds,
            seed=seed,
            scene_threshold=None if scene_threshold == 255 else scene_threshold,
        )
        adapt_options.check()
    elif adapt_save is not None:
        raise InterpolationError("--adapt-save needs --adapt")
    if adapt_save is not None:
        check_overwrite(adapt_save, overwrite)

    def make_interpolator():
        interpolator = model.load()
        if adapt_options is None:
            return interpolator
        return _adapted(interpolator, inputs[0], adapt_options, adapt_save, progress=not quiet)

    flags = command_flags(interpolate)

    def report(outcome) -> None:
        """One input of a batch has ended: its lines, as a single run would print them."""
        if outcome.error is not None:
            typer.echo(f"error: {user_message(outcome.error, flags)}", err=True)
            return
        for note in outcome.result.notes if outcome.result is not None else ():
            typer.echo(f"note: {note}", err=True)
        typer.echo(outcome.summary())

    result = run_interpolate(inputs, output, options, make_interpolator, report=report)
    if isinstance(result, JobResult):
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(result.summary())
        return
    if len(result.outcomes) > 1:  # a batch's inputs were reported as they ended
        typer.echo(result.summary())
    result.raise_for_failures()


def _adapted(interpolator, source: Path, options, save: Path | None, progress: bool):
    """The interpolator after ``sepgan.adapt.adapt`` on ``source``, with its notes and summary on stderr."""
    from sepgan.adapt import adapt, save_adapted

    result = adapt(interpolator, source, options, progress=progress)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if result.psnr_before is not None:
        typer.echo(result.summary(), err=True)
    if save is not None:
        if save_adapted(result, save, source, options.seed):
            typer.echo(f"saved the adapted weights to {save} (use them with --weights {save})", err=True)
        else:
            typer.echo(
                f"note: --adapt-save: nothing saved to {save}, the adapted weights were not kept", err=True
            )
    return result.interpolator


# Subcommands that live in their own subpackages. Their modules import only
# Typer (and torch-free name lists) at load time, so `sepgan --help` stays fast:
# tests/test_cli.py checks that importing this module leaves torch unloaded.
from sepgan.evaluation.cli import evaluate_command  # noqa: E402  late on purpose: keeps `--help` fast
from sepgan.evaluation.compare_cli import compare_command  # noqa: E402  late on purpose, as above
from sepgan.study.cli import study_app  # noqa: E402  late on purpose: keeps `--help` fast


@app.command(
    epilog="Example: sepgan prepare my_videos/ -o data/prepared --gaps 1,2,3 && "
    "sepgan train --config configs/flow.yaml data.paths=\\[data/prepared]",  # \\[ as in train's epilog
)
@reports_user_errors
def prepare(
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="Videos, frame folders, or folders of either (searched recursively).", show_default=False
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="New folder for the prepared set.", show_default=False)
    ],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", "-y", help="Replace an output folder that has files in it.")
    ] = False,
    gaps: Annotated[
        str, typer.Option(help="Temporal gaps g of the triplets (k, k+g, k+2g), comma-separated.")
    ] = ",".join(map(str, DEFAULT_PREPARE_GAPS)),
    crop_size: Annotated[
        int, typer.Option(help="Side of the square crops (multiple of 16).")
    ] = DEFAULT_PREPARE_CROP_SIZE,
    stride: Annotated[
        int, typer.Option(help="Start a triplet at every n-th frame.")
    ] = DEFAULT_PREPARE_STRIDE,
    max_side: Annotated[
        int | None, typer.Option(help="Downscale frames whose longer side exceeds this.")
    ] = None,
    flow_preset: Annotated[
        str,
        typer.Option(help="DIS preset: ultrafast, fast, medium or fine; use the one the model runs with."),
    ] = DEFAULT_PREPARE_FLOW_PRESET,
    flow_variants: Annotated[
        int,
        typer.Option(help="Flow ensemble size stored per triplet (1-4 mirrorings; costs V× the DIS time)."),
    ] = DEFAULT_PREPARE_FLOW_VARIANTS,
    max_per_source: Annotated[
        int | None,
        typer.Option(
            help="Keep at most this many triplets per source (drawn at random), so long ones do not dominate."
        ),
    ] = None,
    screen: Annotated[
        bool,
        typer.Option(
            "--screen/--no-screen", help="Skip triplets across cuts and fades, static ones and flow failures."
        ),
    ] = True,
    workers: Annotated[
        int, typer.Option(help="Processes preparing sources in parallel (one per core).")
    ] = DEFAULT_PREPARE_WORKERS,
    flow_backend: Annotated[
        str,
        typer.Option(
            "--flow-backend",
            help="Who computes DIS: opencv (CPU threads), torch (on CUDA when there is one, else the "
            "CPU) or auto (torch on CUDA, OpenCV without it).",
        ),
    ] = DEFAULT_FLOW_BACKEND,
    seed: Annotated[int, typer.Option(help="Seed of the triplet draw and the crop choice.")] = DEFAULT_SEED,
    exclude: Annotated[
        list[Path] | None, typer.Option(help="A path never to read (repeatable), e.g. your evaluation set.")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Turn your own footage into a training set: triplet crops with DIS flow computed on whole frames.

    Each entry of a folder is one source (a clip, or a subfolder of clips and
    frame folders); a line per source says what it gave and why triplets were skipped.
    """
    check_flow_backend(flow_backend)  # before torch loads
    from sepgan.data import DatasetError
    from sepgan.data.prepared import prepare_dataset

    try:
        gap_values = [int(g) for g in gaps.split(",") if g.strip()]
    except ValueError:
        raise DatasetError(f"--gaps must be comma-separated integers, got {gaps!r}") from None
    bars = []  # created at the first triplet, so an early error stays one line

    def advance(name: str) -> None:
        if not bars:
            from sepgan.progress import progress_bar

            bars.append(progress_bar(desc="prepare", unit="triplet"))
        bars[0].set_postfix_str(name, refresh=False)
        bars[0].update()

    def report(source) -> None:
        skipped = ", ".join(f"{reason} {count}" for reason, count in sorted(source.skipped.items())) or "none"
        line = (f"{source.name}: {source.clips} clip(s), {source.frames} frames, "
                f"{source.kept} triplets kept; skipped: {skipped}")  # fmt: skip
        if source.note:
            line += f"; note: {source.note}"
        if bars:
            bars[0].write(line, file=sys.stderr)  # above the progress bar
        else:
            typer.echo(line, err=True)

    try:
        summary = prepare_dataset(
            sources, output, gaps=gap_values, crop_size=crop_size, stride=stride, max_side=max_side,
            flow_preset=flow_preset, flow_variants=flow_variants, max_per_source=max_per_source,
            screen=screen, workers=workers, seed=seed, exclude=exclude or (),
            on_triplet=advance if progress and workers == 1 else None, on_source=report, overwrite=overwrite,
            flow_backend=flow_backend,
        )  # fmt: skip
    except UserError:  # bad option values (crop size, gaps, flow variants) name their parameter
        raise
    except ValueError as error:  # anything else the library refuses, e.g. an unknown flow preset
        raise DatasetError(str(error)) from None
    finally:
        for bar in bars:
            bar.close()
    typer.echo(
        f"{summary.count} triplets from {sum(1 for r in summary.sources if r.kept)} sources "
        f"in {summary.seconds:.0f} s → {summary.output}"
    )


app.command("evaluate")(evaluate_command)
app.command("compare")(compare_command)
app.add_typer(study_app, name="study")
