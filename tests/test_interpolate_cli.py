"""`sepgan interpolate` end to end with a tiny random model: counts, timing, audio, cuts, odd sizes,
errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from sepgan.media.reader import probe_video
from synthetic import (
    REAL_VIDEOS,
    decode_all,
    digest,
    make_clip,
    moving_frames,
    run_interpolate_cli,
    stream_seconds,
    texture,
    write_frame_folder,
)

runner = CliRunner()


def test_pair_gives_the_middle_frame(tmp_path, weights):
    frames = moving_frames(2, 37, 53)
    write_frame_folder(tmp_path / "in", frames)
    result = run_interpolate_cli(
        tmp_path / "in" / "00000.png",
        tmp_path / "in" / "00001.png",
        "-o",
        tmp_path / "mid.png",
        weights_folder=weights,
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    assert Image.open(tmp_path / "mid.png").size == (53, 37)


def test_frame_folder_times_four(tmp_path, weights):
    write_frame_folder(tmp_path / "in", moving_frames(3, 32, 40))
    result = run_interpolate_cli(
        tmp_path / "in", "-o", tmp_path / "out", "--factor", "4", weights_folder=weights
    )
    assert result.exit_code == 0, result.output
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == [f"{index:06d}.png" for index in range(4 * 2 + 1)]  # factor·(N − 1) + 1
    first = np.asarray(Image.open(tmp_path / "out" / "000000.png"))
    np.testing.assert_array_equal(first, moving_frames(3, 32, 40)[0])


def test_video_times_two_keeps_count_rate_duration_and_audio(tmp_path, weights):
    source = make_clip(tmp_path / "in.mkv", moving_frames(8, 32, 48), Fraction(24), tone_seconds=8 / 24)
    before = digest(source)
    result = run_interpolate_cli(source, "-o", tmp_path / "out.mp4", "--factor", "2", weights_folder=weights)
    assert result.exit_code == 0, result.output
    info = probe_video(tmp_path / "out.mp4")
    assert info.fps == 48 and info.frame_count == 16  # 2N: the last frame is held for its display time
    assert abs(stream_seconds(tmp_path / "out.mp4", "video") - 8 / 24) < 1 / 48
    assert abs(stream_seconds(tmp_path / "out.mp4", "audio") - stream_seconds(source, "audio")) < 0.03
    assert digest(source) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.mkv", "out.mp4"]


def test_ntsc_rate_doubles_exactly(tmp_path, weights):
    source = make_clip(tmp_path / "in.mp4", moving_frames(5, 32, 32), Fraction(60000, 1001), codec="libx264")
    result = run_interpolate_cli(
        source, "-o", tmp_path / "out.mp4", "--fps", "119.88", weights_folder=weights
    )
    assert result.exit_code == 0, result.output
    assert "60000/1001 (59.94) → 120000/1001 (119.88)" in result.output
    info = probe_video(tmp_path / "out.mp4")
    assert info.fps == Fraction(120000, 1001) and info.frame_count == 10


def test_target_fps_24_to_60_reports_its_timing_error(tmp_path, weights):
    source = make_clip(tmp_path / "in.mkv", moving_frames(6, 32, 32), Fraction(24))
    result = run_interpolate_cli(
        source, "-o", tmp_path / "out.mkv", "--fps", "60", "--codec", "ffv1", weights_folder=weights
    )
    assert result.exit_code == 0, result.output
    assert len(decode_all(tmp_path / "out.mkv")) == 15  # ceil(6 · 60/24)
    assert "max timing error 2.08 ms" in result.output  # 0.05 of a 1/24 s interval
    assert "error ≤ 2.60 ms" in result.output  # 1/16 of an interval


@pytest.mark.parametrize("factor", [3, 5])
def test_any_whole_factor_keeps_count_rate_and_duration(tmp_path, factor):
    frames = moving_frames(6, 32, 48, shift=(0, 2))
    source = make_clip(tmp_path / "in.mkv", frames, Fraction(24), tone_seconds=6 / 24)
    output = tmp_path / "out.mkv"
    result = run_interpolate_cli(source, "-o", output, "--factor", str(factor), "--codec", "ffv1")
    assert result.exit_code == 0, result.output  # the default model, flow-ensemble, warps to any time
    assert f"24 → {24 * factor} fps" in result.output and "max timing error 0.00 ms" in result.output
    assert probe_video(output).fps == 24 * factor
    assert abs(stream_seconds(output, "video") - 6 / 24) < 1 / (24 * factor)
    assert abs(stream_seconds(output, "audio") - stream_seconds(source, "audio")) < 0.03
    decoded = decode_all(output)
    assert len(decoded) == factor * 6
    for index, frame in enumerate(frames):  # the inputs come through at their own times
        np.testing.assert_array_equal(decoded[factor * index], frame)

    write_frame_folder(tmp_path / "frames", frames)
    result = run_interpolate_cli(tmp_path / "frames", "-o", tmp_path / "out", "--factor", str(factor))
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "out").iterdir())) == factor * 5 + 1  # factor·(N − 1) + 1


def test_target_fps_lands_on_exact_times_with_an_any_time_model(tmp_path):
    for fps_in in (Fraction(25), Fraction(24000, 1001)):
        source = make_clip(tmp_path / "in.mkv", moving_frames(5, 32, 32), fps_in)
        result = run_interpolate_cli(
            source, "-o", tmp_path / "out.mkv", "--fps", "60", "--codec", "ffv1", "-y"
        )
        assert result.exit_code == 0, result.output
        assert "max timing error 0.00 ms" in result.output and "note: timing" not in result.output
        assert probe_video(tmp_path / "out.mkv").fps == 60


def test_a_middle_only_model_refuses_a_factor_that_is_not_a_power_of_two(tmp_path, weights):
    source = make_clip(tmp_path / "in.mkv", moving_frames(4, 32, 32), Fraction(24))
    result = run_interpolate_cli(source, "-o", tmp_path / "out.mkv", "--factor", "3", weights_folder=weights)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --factor 3: this model (sepconv with a network) makes only the middle frame, so it "
        "needs a power of two (2, 4, 8, ...); flow-ensemble, the default model, warps to any time "
        "and takes any whole number"
    ]
    assert not (tmp_path / "out.mkv").exists()


def test_scene_cut_frames_are_copies_not_blends(tmp_path, weights):
    # 1 px steps score ~8 grey levels here and the cut 50: it stands 3× above them (media.scenes).
    shot_a = moving_frames(4, 32, 48, seed=1, shift=(0, 1))
    shot_b = moving_frames(4, 32, 48, seed=2, shift=(0, -1))
    shot_b = [255 - frame for frame in shot_b]  # a different picture: a hard cut
    source = make_clip(tmp_path / "in.mkv", shot_a + shot_b, Fraction(24))
    result = run_interpolate_cli(
        source, "-o", tmp_path / "out.mkv", "--codec", "ffv1", "--factor", "4", weights_folder=weights
    )
    assert result.exit_code == 0, result.output
    assert "1 scene cuts" in result.output
    frames = decode_all(tmp_path / "out.mkv")
    assert len(frames) == 32
    for offset in range(1, 4):  # outputs 13, 14, 15 lie between input frames 3 and 4 (the cut)
        np.testing.assert_array_equal(frames[12 + offset], shot_a[3])
    np.testing.assert_array_equal(frames[16], shot_b[0])


def test_static_frames_pass_through_without_the_network(tmp_path, weights):
    still = texture(32, 32, seed=3)
    source = make_clip(tmp_path / "in.mkv", [still] * 4, Fraction(24))
    result = run_interpolate_cli(source, "-o", tmp_path / "out", weights_folder=weights)
    assert result.exit_code == 0, result.output
    assert "0 interpolated" in result.output and "3 static pairs" in result.output
    assert len(list((tmp_path / "out").iterdir())) == 8


def test_odd_size_round_trip_and_montage(tmp_path, weights):
    source = make_clip(tmp_path / "in.mkv", moving_frames(3, 23, 41), Fraction(10))
    result = run_interpolate_cli(
        source, "-o", tmp_path / "out.mp4", "--montage", tmp_path / "montage.mp4", weights_folder=weights
    )
    assert result.exit_code == 0, result.output
    info = probe_video(tmp_path / "out.mp4")
    assert (info.width, info.height, info.frame_count) == (41, 23, 6)
    montage = probe_video(tmp_path / "montage.mp4")
    assert (montage.width, montage.height, montage.frame_count) == (82, 23, 6)


@pytest.mark.slow
@pytest.mark.skipif(not (REAL_VIDEOS / "carphone_pristine.mp4").is_file(), reason="real clips not present")
def test_real_clip_doubles(tmp_path, weights):
    source = REAL_VIDEOS / "carphone_pristine.mp4"
    result = run_interpolate_cli(source, "-o", tmp_path / "out.mp4", weights_folder=weights)
    assert result.exit_code == 0, result.output
    info = probe_video(tmp_path / "out.mp4")
    assert info.fps == Fraction(60000, 1001) and info.frame_count == 240
    assert abs(stream_seconds(tmp_path / "out.mp4", "video") - stream_seconds(source, "video")) < 1 / 60


# ---------------------------------------------------------------------------- errors


def _bad_images(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    rgb = texture(16, 16)
    paths = {
        "rgb": folder / "rgb.png",
        "small": folder / "small.png",
        "gray": folder / "gray.png",
        "rgba": folder / "rgba.png",
        "deep": folder / "deep.png",
    }
    Image.fromarray(rgb).save(paths["rgb"])
    Image.fromarray(texture(8, 8)).save(paths["small"])
    Image.fromarray(rgb[..., 0]).save(paths["gray"])
    Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(paths["rgba"])
    deep = rgb.astype(">u2") * 257  # 16-bit RGB, written with PyAV's PNG encoder
    frame = av.VideoFrame.from_ndarray(deep, format="rgb48be")
    with av.open(str(paths["deep"]), "w", format="image2") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "rgb48be"
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return paths


@pytest.mark.parametrize(
    "case,message",
    [
        ("missing", "no such file"),
        ("truncated", "truncated"),
        ("sizes", "must have the same size"),
        ("gray", "grayscale"),
        ("rgba", "alpha"),
        ("deep", "16 bits"),
        ("zero", "zero.mkv: cannot read video"),  # FFmpeg cannot open a header-only file
        ("one", "has 1 frame;"),
        ("same", "is the input"),
        ("nofolder", "does not exist"),
        ("weights", "default weights (not-installed) are not in this install"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(tmp_path, weights, case, message, monkeypatch):
    images = _bad_images(tmp_path / "images")
    out = tmp_path / "out"
    out.mkdir()
    rgb = images["rgb"]
    use_weights = weights
    if case == "missing":
        arguments = [tmp_path / "missing.mp4", "-o", out / "x.mp4"]
    elif case == "truncated":
        real = REAL_VIDEOS / "carphone_pristine.mp4"
        if not real.is_file():
            pytest.skip("real clips not present")
        data = real.read_bytes()
        (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
        arguments = [tmp_path / "cut.mp4", "-o", out / "x.mp4"]
    elif case == "sizes":
        arguments = [rgb, images["small"], "-o", out / "mid.png"]
    elif case in ("gray", "rgba", "deep"):
        arguments = [rgb, images[case], "-o", out / "mid.png"]
    elif case == "zero":
        with av.open(str(tmp_path / "zero.mkv"), "w") as container:
            stream = container.add_stream("ffv1", rate=24)
            stream.width, stream.height, stream.pix_fmt = 16, 16, "bgr0"
            container.start_encoding()  # header only: a valid file without frames
        arguments = [tmp_path / "zero.mkv", "-o", out / "x.mp4"]
    elif case == "one":
        arguments = [make_clip(tmp_path / "one.mkv", [texture(16, 16)]), "-o", out / "x.mp4"]
    elif case == "same":
        clip = make_clip(tmp_path / "two.mkv", moving_frames(2, 16, 16))
        arguments = [clip, "-o", clip]
    elif case == "nofolder":
        arguments = [
            make_clip(tmp_path / "two.mkv", moving_frames(2, 16, 16)),
            "-o",
            tmp_path / "no" / "x.mp4",
        ]
    else:
        arguments = [rgb, rgb, "-o", out / "mid.png"]
        use_weights = None
        monkeypatch.setattr("sepgan.weights.DEFAULT_WEIGHTS", "not-installed")
    inputs = {
        path: digest(path) for path in tmp_path.rglob("*") if path.is_file() and out not in path.parents
    }
    result = run_interpolate_cli(*arguments, weights_folder=use_weights)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert list(out.iterdir()) == []
    assert {path: digest(path) for path in inputs} == inputs


def test_unwritable_folder(tmp_path, weights):
    clip = make_clip(tmp_path / "two.mkv", moving_frames(2, 16, 16))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        target = locked / "x.mp4" if os.geteuid() != 0 else Path("/proc/sepgan-test.mp4")
        result = run_interpolate_cli(clip, "-o", target, weights_folder=weights)
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 2, result.output
    assert "cannot write" in result.output
    assert list(locked.iterdir()) == []


@pytest.mark.slow
def test_errors_print_one_line_on_stderr_without_traceback(tmp_path):
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "sepgan",
            "interpolate",
            str(tmp_path / "missing.mp4"),
            "-o",
            str(tmp_path / "o.mp4"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2
    assert process.stderr.strip() == f"error: {tmp_path / 'missing.mp4'}: no such file or folder"


def _no_core_dump() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGQUIT would write one
    # A test run started in the background of a non-interactive shell inherits SIGQUIT ignored.
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def _stop_mid_job(tmp_path: Path, weights: Path, number: int) -> tuple[int, str, Path, list[str]]:
    """Start a long job, send it signal ``number`` once its temporary output appears; its exit
    status, its stderr, the output folder and the command."""
    clip = make_clip(tmp_path / "long.mkv", moving_frames(400, 96, 128, shift=(0, 1)), Fraction(30))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    command = [
        sys.executable,
        "-m",
        "sepgan",
        "interpolate",
        str(clip),
        "-o",
        str(out_dir / "x2.mp4"),
        "--weights",
        str(weights),
        "--device",
        "cpu",
        "--quiet",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_no_core_dump)  # fmt: skip
    deadline = time.monotonic() + 120
    while not any(out_dir.iterdir()) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the job ended before it could be interrupted"
    assert any(out_dir.iterdir()), "no temporary output appeared"
    process.send_signal(number)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr, out_dir, command


@pytest.mark.slow
@pytest.mark.parametrize(("number", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_mid_job_leave_no_partial_output(tmp_path, weights, number, code):
    returncode, stderr, out_dir, _ = _stop_mid_job(tmp_path, weights, number)
    assert returncode == code, stderr
    assert stderr == "interrupted\n"
    assert list(out_dir.iterdir()) == []


@pytest.mark.slow
def test_sigquit_leaves_only_a_hidden_temporary_that_the_next_run_removes(tmp_path, weights):
    # SIGQUIT stops at once (no cleanup, by design): what is left must never pass for the output.
    returncode, _, out_dir, command = _stop_mid_job(tmp_path, weights, signal.SIGQUIT)
    assert returncode == -signal.SIGQUIT
    left = [path.name for path in out_dir.iterdir()]
    assert left and all(name.startswith(".x2.mp4.sepgan-tmp-") for name in left), left
    clip = make_clip(tmp_path / "short.mkv", moving_frames(3, 96, 128, shift=(0, 1)), Fraction(30))
    rerun = subprocess.run([*command[:4], str(clip), *command[5:]], capture_output=True, text=True,
                           timeout=300, check=False)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert [path.name for path in out_dir.iterdir()] == ["x2.mp4"]


def test_no_overlap_flag_gives_the_same_lossless_frames(tmp_path, weights):
    source = make_clip(tmp_path / "in.mkv", moving_frames(6, 32, 48), Fraction(24))
    threaded = run_interpolate_cli(source, "-o", tmp_path / "threads.mkv", weights_folder=weights)
    sequential = run_interpolate_cli(
        source, "-o", tmp_path / "sequential.mkv", "--no-overlap", weights_folder=weights
    )
    assert threaded.exit_code == 0 and sequential.exit_code == 0, threaded.output + sequential.output
    frames_threaded = decode_all(tmp_path / "threads.mkv")
    frames_sequential = decode_all(tmp_path / "sequential.mkv")
    assert len(frames_threaded) == len(frames_sequential) == 12
    assert all(np.array_equal(a, b) for a, b in zip(frames_threaded, frames_sequential, strict=False))


def test_compile_flag_reaches_the_interpolator(monkeypatch, tmp_path, weights):
    import sepgan.interpolator as pipeline

    seen = {}
    real = pipeline.Interpolator.from_pretrained

    def spy(path, **kwargs):
        seen.update(kwargs)
        kwargs["compile"] = False  # record the request; skip the slow compile itself
        return real(path, **kwargs)

    monkeypatch.setattr(pipeline.Interpolator, "from_pretrained", spy)
    frames = moving_frames(2, 32, 32)
    Image.fromarray(frames[0]).save(tmp_path / "a.png")
    Image.fromarray(frames[1]).save(tmp_path / "b.png")
    result = run_interpolate_cli(
        tmp_path / "a.png",
        tmp_path / "b.png",
        "-o",
        tmp_path / "mid.png",
        "--compile",
        weights_folder=weights,
    )
    assert result.exit_code == 0, result.output
    assert seen["compile"] is True


def test_workers_one_runs_every_dis_call_in_one_thread(monkeypatch, tmp_path):
    from sepgan import flow

    pools, threads = [], set()
    real_pool, real_dis = flow.ThreadPoolExecutor, flow.dis_flow

    def recording_pool(max_workers):
        pools.append(max_workers)
        return real_pool(max_workers=max_workers)

    def recording_dis(*args, **kwargs):
        threads.add(threading.get_ident())
        return real_dis(*args, **kwargs)

    monkeypatch.setattr(flow, "ThreadPoolExecutor", recording_pool)
    monkeypatch.setattr(flow, "dis_flow", recording_dis)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    write_frame_folder(tmp_path / "in", moving_frames(3, 32, 48))
    default = run_interpolate_cli(
        tmp_path / "in", "-o", tmp_path / "default"
    )  # the bundled flow-ensemble: 8 DIS calls a pair
    assert default.exit_code == 0, default.output
    assert pools and set(pools) == {3}  # one thread per CPU of the affinity set
    pools.clear(), threads.clear()
    single = run_interpolate_cli(tmp_path / "in", "-o", tmp_path / "single", "--workers", "1")
    assert single.exit_code == 0, single.output
    assert pools == [] and len(threads) == 1
    assert all(
        a.read_bytes() == b.read_bytes()
        for a, b in zip(
            sorted((tmp_path / "default").iterdir()), sorted((tmp_path / "single").iterdir()), strict=False
        )
    )
    bad = run_interpolate_cli(tmp_path / "in", "-o", tmp_path / "bad", "--workers", "0")
    assert bad.exit_code == 2 and "--workers must be at least 1" in bad.output, bad.output


def test_an_existing_output_is_refused_without_overwrite(tmp_path, weights):
    source = make_clip(tmp_path / "in.mkv", moving_frames(4, 24, 32), Fraction(24))
    video, folder, montage = tmp_path / "out.mkv", tmp_path / "frames", tmp_path / "montage.mkv"

    def run(*arguments):
        return run_interpolate_cli(source, *arguments, weights_folder=weights)

    assert run("-o", video, "--montage", montage).exit_code == 0
    assert run("-o", folder).exit_code == 0
    made = {path: digest(path) for path in (video, montage)}
    for arguments, existing in [
        (("-o", video), video),
        (("-o", tmp_path / "new.mkv", "--montage", montage), montage),
        (("-o", folder), folder),
        (("-o", video, "--resume"), video),  # the work folder's options are not the output's
    ]:
        result = run(*arguments)
        assert result.exit_code == 2
        assert result.output == f"error: {existing} already exists; use --overwrite to replace it\n"
    assert {path: digest(path) for path in made} == made and not (tmp_path / "new.mkv").exists()
    (folder / "keep.txt").write_text("old")
    for arguments in (("-o", video, "--montage", montage, "-y"), ("-o", folder, "--overwrite")):
        result = run(*arguments)
        assert result.exit_code == 0, result.output
    assert sorted(path.name for path in folder.iterdir()) == [f"{index:06d}.png" for index in range(8)]
    # A batch (auto-named outputs) skips an output that exists, and -y makes it again.
    assert "wrote" in run().output and "skipped" in run().output
    assert "wrote" in run("-y").output


def test_small_things_a_new_user_hit(tmp_path, weights):
    source = make_clip(tmp_path / "in.mkv", moving_frames(4, 24, 32), Fraction(24))
    frames = write_frame_folder(tmp_path / "frames", moving_frames(3, 24, 32))
    pair = sorted(frames.iterdir())[:2]
    (tmp_path / "empty.mp4").mkdir()
    cases = {  # arguments → the error line
        (source, "-o", tmp_path / "o.mkv", "--montage", tmp_path / "o.mkv"): (
            f"--montage {tmp_path / 'o.mkv'} is also the --output: give them two different files"
        ),
        (*pair, "-o", tmp_path / "mid.png", "--montage", tmp_path / "m.mkv"): (
            "--montage shows a video beside its input; an image pair has no video to show"
        ),
        (frames, "-o", tmp_path / "out", "--montage", tmp_path / "m.mkv"): (
            "--montage shows a video beside its input; for a frame folder compare the frames, "
            "or make a video of them first"
        ),
        (source, "-o", tmp_path / "o.mkv", "--fps", "12"): (
            "--fps 12 is lower than the input's frame rate (0.5×): sepgan adds frames and does not drop "
            "them; lower a frame rate with ffmpeg's fps filter (-vf fps=...)"
        ),
        (source, "-o", tmp_path / "empty.mp4"): (
            f"{tmp_path / 'empty.mp4'} is a folder, but a .mp4 output is a video file; remove the folder, "
            "or choose a name without a video suffix for PNG frames"
        ),
    }
    for arguments, message in cases.items():
        result = run_interpolate_cli(*arguments, weights_folder=weights)
        assert (result.exit_code, result.output) == (2, f"error: {message}\n"), arguments
    assert list((tmp_path / "empty.mp4").iterdir()) == []
    # An output name of 240 bytes: the hidden temporary name beside it must fit the file system too.
    long_name = tmp_path / ("x" * 236 + ".mkv")
    result = run_interpolate_cli(source, "-o", long_name, weights_folder=weights)
    assert result.exit_code == 0, result.output
    assert len(decode_all(long_name)) == 8
