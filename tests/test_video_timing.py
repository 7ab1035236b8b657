"""Timing survives `sepgan interpolate`: stream origins, elementary-stream rates, variable frame rates, fades.

Inputs are written here with PyAV with explicit timestamps; the expected
values are the ones a stream copy (``ffmpeg -c copy``) or ffprobe gives.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from sepgan.cli import app
from sepgan.media.reader import probe_video
from synthetic import make_clip, make_vfr_clip, moving_frames, stream_seconds

runner = CliRunner()


def invoke(weights: Path, *arguments: object):
    args = ["interpolate", *map(str, arguments), "--device", "cpu", "--quiet", "--weights", str(weights)]
    return runner.invoke(app, args)


def stream_starts(path: Path) -> dict[str, float]:
    with av.open(str(path)) as container:
        return {stream.type: float(stream.start_time * stream.time_base) for stream in container.streams}


def test_mpeg_ts_output_starts_at_zero_and_keeps_the_audio_video_offset(tmp_path, weights):
    # Video from 35/24 s, audio from 1.4375 s less AAC's 1024-sample priming: 1.4162 s, as TS files do.
    source = tmp_path / "in.ts"
    with av.open(str(source), "w", format="mpegts") as container:
        video = container.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 48, 32, "yuv420p"
        audio = container.add_stream("aac", rate=48000, layout="mono")
        for index, frame in enumerate(moving_frames(16, 32, 48)):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts, picture.time_base = 35 + index, Fraction(1, 24)
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
        silence = np.zeros((1, 1024), np.float32)
        for start in range(0, 32768, 1024):
            chunk = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = 48000, 69000 + start, Fraction(1, 48000)
            container.mux(audio.encode(chunk))
        container.mux(audio.encode(None))
    before = stream_starts(source)
    assert before["video"] == pytest.approx(35 / 24) and before["audio"] == pytest.approx(1.41617, abs=1e-4)
    result = invoke(weights, source, "-o", tmp_path / "out.mp4")
    assert result.exit_code == 0, result.output
    after = stream_starts(tmp_path / "out.mp4")
    # What `ffmpeg -i in.ts -c copy out.mp4` gives: audio at 0, video 0.042 s later (here on the
    # 1/48 s output grid, so within half an output frame; measured 0.041).
    assert after["audio"] == pytest.approx(0, abs=1e-3)
    assert after["video"] == pytest.approx(before["video"] - before["audio"], abs=1 / 96)
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.duration / 1e6 == pytest.approx(0.709, abs=0.01)  # not 2.1 s for 0.67 s of video


@pytest.mark.parametrize("suffix,codec", [(".h264", "libx264"), (".hevc", "libx265"), (".m2v", "mpeg2video")])
def test_a_raw_elementary_stream_is_read_at_its_own_rate_not_25(tmp_path, weights, suffix, codec):
    source = tmp_path / f"in{suffix}"
    with av.open(str(source), "w") as container:
        stream = container.add_stream(codec, rate=30)
        # 64×64: libx265 (in PyAV's FFmpeg) corrupts the heap below one 64-pixel CTU, e.g. at 48×32.
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        if codec == "libx265":
            stream.options = {"x265-params": "log-level=none"}
        for index, frame in enumerate(moving_frames(9, 64, 64)):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = index
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))
    with av.open(str(source)) as container:  # the demuxer's own idea: 25, the default it invents
        assert container.streams.video[0].average_rate == 25
    assert probe_video(source).fps == 30  # what ffprobe's r_frame_rate says
    result = invoke(weights, source, "-o", tmp_path / "out.mp4")
    assert result.exit_code == 0, result.output
    assert "30 → 60 fps" in result.output
    info = probe_video(tmp_path / "out.mp4")
    assert (info.fps, info.frame_count) == (60, 18)
    assert stream_seconds(tmp_path / "out.mp4", "video") == pytest.approx(9 / 30, abs=1e-3)


def faded(frames: list[np.ndarray], levels: np.ndarray) -> list[np.ndarray]:
    return [np.round(frame * level).astype(np.uint8) for frame, level in zip(frames, levels, strict=True)]


@pytest.mark.parametrize("length", [2, 4, 6, 12])
def test_a_fade_is_interpolated_not_taken_for_cuts(tmp_path, weights, length):
    # Shot A fades out to black over `length` frames while the camera moves, then shot B fades in
    # from black over as many. 72×128 shrinks 2× to the 64×36 thumbnail, as HD shrinks 20–30×.
    ramp = np.linspace(1, 0, length + 1)
    shot_a = faded(moving_frames(3 + length, 72, 128, seed=1), np.concatenate([[1, 1], ramp]))
    shot_b = faded(moving_frames(length + 3, 72, 128, seed=2), np.concatenate([ramp[::-1], [1, 1]]))
    source = make_clip(tmp_path / "in.mkv", shot_a + shot_b[1:], Fraction(24))  # one black frame between
    result = invoke(weights, source, "-o", tmp_path / "out.mkv", "--codec", "ffv1")
    assert result.exit_code == 0, result.output
    pairs = len(shot_a) + len(shot_b) - 2
    assert f"{pairs} interpolated, 0 scene cuts" in result.output  # every pair, none copied


def test_hard_cuts_are_still_cuts(tmp_path, weights):
    # A 1 px step of this texture scores ~7 grey levels, the cuts 44 and 96: each stands 3× above
    # its neighbours (media.scenes). At 2 px steps (16 levels) the 44-level cut would not.
    shot_a = moving_frames(3, 72, 128, shift=(0, 1), seed=1)
    shot_b = [255 - frame for frame in moving_frames(3, 72, 128, shift=(0, 1), seed=2)]  # same brightness
    shot_c = [
        np.round(frame * 0.3).astype(np.uint8) for frame in moving_frames(3, 72, 128, shift=(0, 1), seed=3)
    ]
    source = make_clip(tmp_path / "in.mkv", shot_a + shot_b + shot_c, Fraction(24))
    result = invoke(weights, source, "-o", tmp_path / "out.mkv", "--codec", "ffv1")
    assert result.exit_code == 0, result.output
    assert "6 interpolated, 2 scene cuts" in result.output


def test_variable_frame_rate_output_follows_the_input_timestamps(tmp_path, weights):
    # A 30 fps phone-style clip whose camera stalls: frames at slots 0–14, then 27–35 (0.9–1.167 s).
    slots = [*range(15), *range(27, 36)]
    canvas = moving_frames(36, 72, 128)  # the view at slot s is canvas[s], so content says its time
    source = make_vfr_clip(tmp_path / "in.mkv", canvas, slots)
    result = invoke(weights, source, "-o", tmp_path / "out.mkv", "--codec", "ffv1")
    assert result.exit_code == 0, result.output
    assert "30 → 60 fps" in result.output
    assert "note: variable frame rate: 1 gap(s) between input frames (the longest 0.433 s)" in result.output
    timing_error_ms = float(result.output.split("max timing error ")[1].split(" ms")[0])
    assert timing_error_ms <= 1000 / 120  # within half an output frame
    with av.open(str(tmp_path / "out.mkv")) as container:
        frames = [(frame.time, frame.to_ndarray(format="rgb24")) for frame in container.decode(video=0)]
    assert len(frames) == 72  # 1.2 s at 60 fps, the stall filled at the output rate
    for time, _ in frames:  # evenly at 60 fps (Matroska stores milliseconds)
        assert abs(time - round(time * 60) / 60) < 1e-3
    for slot in slots:  # every input frame is shown at its own time: slot / 30 s
        time, picture = frames[2 * slot]
        assert time == pytest.approx(slot / 30, abs=1e-3)
        np.testing.assert_array_equal(picture, canvas[slot])
