"""`sepgan interpolate` on inputs that used to crash, mislead or touch the input (issue 13, section 4).

Each test builds its small input here and asserts the right value: one
``error:`` line and exit 2 before any work, or a correct result.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from sepgan.cli import app
from synthetic import decode_all, digest, make_clip, moving_frames, run_interpolate_cli, write_frame_folder

runner = CliRunner()


# ---------------------------------------------------------------------------- option ranges

# (options, the one line expected, whether the check comes before the model loads)
BAD_OPTIONS = [
    (["--max-depth", "-1", "--fps", "60"], "error: --max-depth must be between 0 and 10, got -1", True),
    (["--max-depth", "11"], "error: --max-depth must be between 0 and 10, got 11", True),
    (["--factor", "0"], "error: --factor 0: must be a whole number from 2 to 1024", True),
    (["--factor", "1"], "error: --factor 1: must be a whole number from 2 to 1024", True),
    # a middle-only model (the tiny SepConv here) takes powers of two: known once the model is
    (
        ["--factor", "6"],
        "error: --factor 6: this model (sepconv with a network) makes only the middle",
        False,
    ),
    (
        ["--factor", "2048", "--allow-high-fps"],
        "error: --factor 2048: must be a whole number from 2 to 1024",
        True,
    ),
    (
        ["--factor", "32"],
        "error: --factor 32 is 32× the input's frame rate; more than 16× needs --allow-high-fps",
        True,
    ),
    (
        ["--fps", "1e5"],
        "error: --fps 100000 is 4167× the input's frame rate; at most 1024× is supported",
        True,
    ),
    # exact to the end: a rate too big for a float, or too small to be a frame rate, shown as typed
    (["--fps=1e400"], "error: frame rate '1e400' is out of range: use a rate from 1/1000 to 1,000,000", True),
    (
        ["--fps", "1e-9"],
        "error: frame rate '1e-9' is out of range: use a rate from 1/1000 to 1,000,000",
        True,
    ),
    (
        ["--fps", "1e5", "--allow-high-fps"],
        "error: --fps 100000 is 4167× the input's frame rate; at most",
        True,
    ),
    (
        ["--fps", "400"],
        "error: --fps 400 is 16.67× the input's frame rate; more than 16× needs --allow-high-fps",
        True,
    ),
    (["--fps", "0"], "error: frame rate must be positive, got '0'", True),
    (["--fps", "nan"], "error: cannot read frame rate 'nan'", True),
    (["--crf", "52"], "error: --crf of h264 must be between 0 (best) and 51, got 52", True),
    (["--crf", "-1"], "error: --crf of h264 must be between 0 (best) and 51, got -1", True),
    (["--max-memory-mb", "0"], "error: --max-memory-mb must be a positive number of MB, got 0.0", True),
    (["--max-memory-mb", "-5"], "error: --max-memory-mb must be a positive number of MB, got -5.0", True),
    (["--max-memory-mb", "nan"], "error: --max-memory-mb must be a positive number of MB, got nan", True),
    (["--max-memory-mb", "inf"], "error: --max-memory-mb must be a positive number of MB, got inf", True),
    (
        ["--scene-threshold", "256"],
        "error: --scene-threshold must be between 0 and 255 grey levels, got 256.0",
        True,
    ),
    (
        ["--scene-threshold", "-0.1"],
        "error: --scene-threshold must be between 0 and 255 grey levels, got -0.1",
        True,
    ),
    (
        ["--scene-threshold", "nan"],
        "error: --scene-threshold must be between 0 and 255 grey levels, got nan",
        True,
    ),
    (["--batch", "0"], "error: --batch must be at least 1, got 0", True),
    (["--tile-overlap", "-1"], "error: --tile-overlap must be ≥ 0, got -1", True),
    (["--flow-variants", "0"], "error: --flow-variants must be between 1 and 4, got 0", True),
    (["--flow-variants", "5"], "error: --flow-variants must be between 1 and 4, got 5", True),
    (["--tile", "big"], "error: --tile big: use 'auto', 'none' or a size in pixels", True),
    (["--tile", "0"], "error: --tile 0 px is too small for an overlap of 64 px; use at least 96", False),
    (["--device", "gpu0"], "error: --device 'gpu0': use auto, cpu, cuda or cuda:N", False),
    (["--precision", "fp8"], "error: unknown precision 'fp8'", False),
    (
        ["--codec", "mpeg2"],
        "error: unknown codec 'mpeg2'; choose one of h264, hevc, av1, vp9, prores, ffv1, png",
        True,
    ),
    (["--adapt", "--adapt-steps", "-1"], "error: --adapt-steps must be at least 1, got -1", True),
    (
        ["--adapt", "--adapt-seconds", "0"],
        "error: --adapt-seconds must be a positive number of seconds, got 0.0",
        True,
    ),
]


@pytest.mark.parametrize(
    "options,expected,before_model", BAD_OPTIONS, ids=[" ".join(o[0]) for o in BAD_OPTIONS]
)
def test_every_option_is_range_checked_with_one_line(
    tmp_path, weights, monkeypatch, options, expected, before_model
):
    source = make_clip(tmp_path / "in.mkv", moving_frames(3, 16, 16), Fraction(24))
    before = digest(source)
    if before_model:  # the check must not wait for the model (nor for decoding)
        import sepgan.interpolator

        def refuse(*args, **kwargs):
            raise AssertionError("the model was loaded before the option was checked")

        monkeypatch.setattr(sepgan.interpolator.Interpolator, "from_pretrained", refuse)
    args = ["--device", "cpu", *options] if "--device" not in options else options
    result = runner.invoke(app, ["interpolate", str(source), "-o", str(tmp_path / "out.mkv"), "--quiet",
                                 "--weights", str(weights), *args])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith(expected), result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.mkv"]
    assert digest(source) == before


def test_high_fps_runs_when_allowed_and_threshold_255_disables_cuts(tmp_path, weights):
    source = make_clip(tmp_path / "in.mkv", moving_frames(2, 16, 16), Fraction(24))
    result = run_interpolate_cli(source, "-o", tmp_path / "out", "--factor", "32", "--allow-high-fps",
                    "--scene-threshold", "255", weights_folder=weights)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "64 frames from 2, 24 → 768 fps" in result.output
    assert len(list((tmp_path / "out").iterdir())) == 64


# ---------------------------------------------------------------------------- tiny frames


@pytest.mark.parametrize("width,height", [(1, 1), (2, 2), (11, 11), (40, 3), (3, 40)])
def test_tiny_pair_gives_the_right_middle(tmp_path, width, height):
    """DIS needs ≥ 12 px (and crashes the process on some short, wide frames): small frames are
    padded for it."""
    frames = moving_frames(3, height, width, shift=(0, 1) if width >= height else (1, 0), seed=1)
    for index in (0, 2):
        Image.fromarray(frames[index]).save(tmp_path / f"{index}.png")
    result = run_interpolate_cli(
        tmp_path / "0.png", tmp_path / "2.png", "-o", tmp_path / "mid.png"
    )  # the bundled flow model
    assert result.exit_code == 0, result.output
    middle = np.asarray(Image.open(tmp_path / "mid.png")).astype(float)
    assert middle.shape == (height, width, 3)
    blend = (frames[0].astype(float) + frames[2]) / 2
    if min(width, height) <= 2:  # no texture to track: the average of the two is the middle
        assert np.abs(middle - blend).max() <= 2 and np.abs(middle - blend).mean() < 1
    else:  # the motion is found: far closer to the true middle than the blend is
        error, blend_error = np.abs(middle - frames[1]).mean(), np.abs(blend - frames[1]).mean()
        # (bicubic warps ring a little on a 3-px-wide frame: 0.86 against the blend's 2.05 on 3×40)
        assert error < 0.5 * blend_error and blend_error > 2, (error, blend_error)


def test_tiny_video_with_motion_is_interpolated(tmp_path):
    frames = moving_frames(5, 8, 8, shift=(0, 1), seed=1)
    source = make_clip(tmp_path / "in.mkv", frames[::2], Fraction(24))  # 2 px per input frame
    result = run_interpolate_cli(source, "-o", tmp_path / "out.mkv", "--codec", "ffv1")
    assert result.exit_code == 0, result.output
    assert "6 frames from 3" in result.output and "2 interpolated" in result.output
    output = decode_all(tmp_path / "out.mkv")
    assert [frame.shape for frame in output] == [(8, 8, 3)] * 6
    for index in (1, 3):  # the middles, against the true in-between frames 1 and 3
        error = np.abs(output[index].astype(float) - frames[index]).mean()
        blend_error = np.abs((frames[index - 1].astype(float) + frames[index + 1]) / 2 - frames[index]).mean()
        assert error < 2 and error < blend_error / 2, (index, error, blend_error)


@pytest.mark.slow
def test_dis_flow_takes_every_small_size_without_crashing():
    """40×11 and 200×12 frames segfaulted OpenCV's DIS (MEDIUM); 40×3 raised. Run apart: a crash
    kills the process."""
    code = (
        "import numpy as np\n"
        "from sepgan.flow import dis_flow, dis_padded_size\n"
        "rng = np.random.default_rng(0)\n"
        "for preset in ('ultrafast', 'medium', 'fine'):\n"
        "    for h, w in [(1, 1), (3, 40), (11, 40), (11, 100), (12, 200), (20, 20), (40, 3), (200, 12)]:\n"
        "        image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)\n"
        "        flow = dis_flow(image, np.roll(image, 1, axis=1), preset)\n"
        "        assert flow.shape == (h, w, 2) and flow.flags.c_contiguous, (preset, h, w)\n"
        "assert dis_padded_size(480, 640, 8, 1) == (480, 640)\n"
        "assert dis_padded_size(32, 91, 8, 2) == (32, 91) and dis_padded_size(32, 90, 8, 2) == (32, 91)\n"
        "assert dis_padded_size(12, 200, 8, 1) == (16, 200) and dis_padded_size(3, 40, 8, 0) == (8, 40)\n"
        "print('ok')\n"
    )
    process = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert process.returncode == 0 and process.stdout.strip() == "ok", process.stderr[-2000:]


# ---------------------------------------------------------------------------- killed runs


@pytest.mark.slow
@pytest.mark.parametrize("name", ["x2.mp4", "frames"])
def test_a_rerun_removes_the_temporary_of_a_sigkilled_run(tmp_path, weights, name):
    """SIGKILL cannot be caught: the hidden temporary stays, and the next run to the same output
    removes it."""
    long_clip = make_clip(tmp_path / "long.mkv", moving_frames(150, 32, 32, shift=(0, 1)), Fraction(30))
    short_clip = make_clip(tmp_path / "short.mkv", moving_frames(3, 32, 32, shift=(0, 1)), Fraction(30))
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def command(clip: Path) -> list[str]:
        return [sys.executable, "-m", "sepgan", "interpolate", str(clip), "-o", str(out_dir / name),
                "--weights", str(weights), "--device", "cpu", "--quiet"]  # fmt: skip

    process = subprocess.Popen(
        command(long_clip), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not any(out_dir.iterdir()) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    assert process.poll() is None, "the job ended before it could be killed"
    process.kill()
    process.communicate(timeout=60)
    stale = [path.name for path in out_dir.iterdir()]
    assert len(stale) == 1 and stale[0].startswith(f".{name}.sepgan-tmp-{process.pid}-"), stale
    result = subprocess.run(command(short_clip), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert [path.name for path in out_dir.iterdir()] == [name]
    if name == "frames":
        assert len(list((out_dir / name).iterdir())) == 6


# ---------------------------------------------------------------------------- animated images


@pytest.mark.parametrize("suffix,kind", [(".gif", "GIF"), (".png", "PNG"), (".webp", "WEBP")])
def test_an_animated_image_is_refused_with_what_to_do(tmp_path, suffix, kind):
    images = [Image.fromarray(frame) for frame in moving_frames(6, 32, 48)]
    source = tmp_path / f"anim{suffix}"
    images[0].save(source, save_all=True, append_images=images[1:], duration=100, loop=0)
    before = digest(source)
    result = run_interpolate_cli(source, "-o", tmp_path / "out.mp4")
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        f"error: {source}: animated {kind} (6 frames): convert it to a video first"
    )
    assert len(result.output.strip().splitlines()) == 1
    assert digest(source) == before and sorted(p.name for p in tmp_path.iterdir()) == [source.name]
    if kind == "GIF" and shutil.which("ffmpeg"):  # the advice works: the converted clip is read
        command = result.output.split("e.g. ", 1)[1].strip().split()
        subprocess.run(
            command, cwd=tmp_path, check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=60
        )
        converted = run_interpolate_cli(tmp_path / "clip.mkv", "-o", tmp_path / "out.mkv")
        assert converted.exit_code == 0, converted.output
        assert "12 frames from 6, 10 → 20 fps" in converted.output


# ---------------------------------------------------------------------------- output inside the input


@pytest.mark.parametrize("inside", ["out", "out.png", "sub/out", "link/out"])
def test_an_output_inside_the_input_folder_is_refused(tmp_path, weights, inside):
    frames_folder = write_frame_folder(tmp_path / "frames", moving_frames(3, 16, 16))
    (frames_folder / "sub").mkdir()
    (tmp_path / "link").symlink_to(frames_folder)  # the same folder by another name
    before = {path: digest(path) for path in frames_folder.rglob("*") if path.is_file()}
    result = run_interpolate_cli(frames_folder, "-o",
                    tmp_path / inside if inside.startswith("link") else frames_folder / inside,
                    weights_folder=weights)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "is inside the input folder" in result.output and len(result.output.strip().splitlines()) == 1
    assert {path: digest(path) for path in frames_folder.rglob("*") if path.is_file()} == before
    assert sorted(p.name for p in frames_folder.iterdir()) == ["00000.png", "00001.png", "00002.png", "sub"]
    assert list((frames_folder / "sub").iterdir()) == []


# ---------------------------------------------------------------------------- truncated files


def _faststart_mp4(path: Path, count: int = 24) -> list[int]:
    """An H.264 MP4 with its index (moov) first, as web videos are; returns each video packet's
    file offset."""
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in moving_frames(count, 48, 64, shift=(0, 2)):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    with av.open(str(path)) as container:
        return sorted(packet.pos for packet in container.demux(video=0) if packet.size)


@pytest.mark.parametrize("cut", ["packet", "mid-packet"])
@pytest.mark.slow
def test_a_faststart_mp4_cut_short_says_it_ends_early(tmp_path, weights, cut):
    whole = tmp_path / "whole.mp4"
    offsets = _faststart_mp4(whole)
    data = whole.read_bytes()
    source = tmp_path / "cut.mp4"
    source.write_bytes(data[: offsets[20] + (0 if cut == "packet" else 5)])  # frames 0-19 whole
    result = run_interpolate_cli(source, "-o", tmp_path / "out.mp4", weights_folder=weights)
    assert result.exit_code == 0, result.output
    if cut == "packet":
        assert (
            "note: input ends early (decoding stopped at frame 20 of the 24 its container lists"
            in result.output
        )
        assert "40 frames from 20" in result.output
    else:  # the decoder may hold back a frame or two of the cut packet's group
        assert "note: input ends early (decoding stopped at frame " in result.output
    whole_run = run_interpolate_cli(whole, "-o", tmp_path / "whole2.mp4", weights_folder=weights)
    assert whole_run.exit_code == 0 and "ends early" not in whole_run.output, whole_run.output


def test_a_matroska_file_cut_short_says_it_ends_early(tmp_path, weights):
    whole = make_clip(tmp_path / "whole.mkv", moving_frames(24, 48, 64), Fraction(24))
    source = tmp_path / "cut.mkv"
    source.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = run_interpolate_cli(source, "-o", tmp_path / "out.mkv", weights_folder=weights)
    assert result.exit_code == 0, result.output
    assert "note: input ends early (decoding stopped at frame " in result.output
    assert "s into a file of 1.000 s: a truncated file?)" in result.output


# ---------------------------------------------------------------------------- help text


@pytest.mark.parametrize(
    "command,example",
    [("train", "data.paths=[data/vimeo_triplet] max_steps=20000"), ("prepare", "data.paths=[data/prepared]")],
)
def test_help_examples_keep_their_brackets(command, example):
    """Rich reads ``[data/...]`` as markup and used to print ``data.paths=``."""
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert example in result.output and "\\[" not in result.output


# ---------------------------------------------------------------------------- issue 29, item 6


def _colour_profile() -> bytes:
    """An ICC profile other than sRGB's, as a Display P3 photo carries one (Pillow makes a LAB one)."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()


def test_a_gif_middle_frame_says_colour_is_reduced(tmp_path, weights):
    frames = moving_frames(2, 16, 16)
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(tmp_path / f"{index}.png")
    result = run_interpolate_cli(tmp_path / "0.png", tmp_path / "1.png", "-o", tmp_path / "mid.gif",
                                 weights_folder=weights)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "note: mid.gif: a GIF holds 256 colours at most; colour is reduced" in result.output
    assert Image.open(tmp_path / "mid.gif").size == (16, 16)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_an_icc_profile_of_the_inputs_is_kept_on_the_middle_frame(tmp_path, weights, suffix):
    profile = _colour_profile()
    for index, frame in enumerate(moving_frames(2, 16, 16)):
        Image.fromarray(frame).save(tmp_path / f"{index}{suffix}", icc_profile=profile)
    output = tmp_path / f"mid{suffix}"
    result = run_interpolate_cli(tmp_path / f"0{suffix}", tmp_path / f"1{suffix}", "-o", output,
                                 weights_folder=weights)  # fmt: skip
    assert result.exit_code == 0 and "note:" not in result.output, result.output
    assert Image.open(output).info.get("icc_profile") == profile
    # without a profile on the inputs, none is invented
    plain = tmp_path / "plain"
    plain.mkdir()
    for index, frame in enumerate(moving_frames(2, 16, 16)):
        Image.fromarray(frame).save(plain / f"{index}.png")
    result = run_interpolate_cli(
        plain / "0.png", plain / "1.png", "-o", plain / "mid.png", weights_folder=weights
    )
    assert result.exit_code == 0 and "icc_profile" not in Image.open(plain / "mid.png").info


def test_an_output_that_is_a_fifo_is_refused_and_left_alone(tmp_path, weights):
    import os
    import stat

    source = make_clip(tmp_path / "in.mkv", moving_frames(3, 16, 16), Fraction(24))
    for name in ("out.mp4", "mid.png"):
        os.mkfifo(tmp_path / name)
    result = run_interpolate_cli(source, "-o", tmp_path / "out.mp4", weights_folder=weights)
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"error: {tmp_path / 'out.mp4'} is not a regular file (a FIFO, a device or a socket); "
        "write to a new path or an existing file\n"
    )
    frames = moving_frames(2, 16, 16)
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(tmp_path / f"{index}.png")
    result = run_interpolate_cli(tmp_path / "0.png", tmp_path / "1.png", "-o", tmp_path / "mid.png",
                                 weights_folder=weights)  # fmt: skip
    assert result.exit_code == 2 and "is not a regular file" in result.output, result.output
    assert all(stat.S_ISFIFO((tmp_path / name).lstat().st_mode) for name in ("out.mp4", "mid.png"))
    assert not [path for path in tmp_path.iterdir() if ".sepgan-tmp-" in path.name]
