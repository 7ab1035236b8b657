"""Output codecs (h264, hevc, av1, vp9, prores, ffv1), their CRF and presets, and trimming.

Each codec writes a tiny clip (64×48, 6 frames, the encoder's fastest preset) that
carries colour tags, a rotation and a pixel aspect: all of it, and the timing,
must come back from the output. Segments of HEVC and VP9 join into one stream
with the one-pass run's timestamps. ``--start``/``--duration`` keep the frames
and audio of the span asked for.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from sepgan.media.reader import VideoReader
from sepgan.options import ENCODER_QUALITY, OptionError, check_crf, check_encoder_preset
from synthetic import make_clip, moving_frames, run_interpolate_cli, stream_seconds

# Matroska/WebM take the pixel aspect of AV1, VP9 and FFV1 (whose bitstreams carry none) from the
# stream, which PyAV does not set: lost today, and without a note (open: the writer should keep it).
FASTEST = {codec: quality.presets[0] for codec, quality in ENCODER_QUALITY.items() if quality.presets}
# codec, suffix, the FFmpeg decoder name the output must carry
CODECS = [
    ("h264", ".mp4", "h264"),
    ("hevc", ".mp4", "hevc"),
    ("hevc", ".mkv", "hevc"),
    ("av1", ".mp4", "av1"),
    ("av1", ".webm", "av1"),
    ("vp9", ".webm", "vp9"),
    ("prores", ".mov", "prores"),
    ("ffv1", ".mkv", "ffv1"),
]


DECODERS = {"av1": {"av1", "libdav1d", "libaom-av1"}}  # whichever decoder FFmpeg picks for AV1


def tagged_clip(path: Path, *, bits: int = 8, count: int = 6) -> Path:
    """64×48 at 24 fps, BT.709-tagged, rotated 90°, pixel aspect 4:3 (HEVC 10-bit for ``bits`` 10)."""
    frames = moving_frames(count, 48, 64)
    pix_fmt = "yuv420p10le" if bits == 10 else "yuv420p"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx265" if bits == 10 else "libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
        stream.options = {"preset": "ultrafast", "crf": "10"}
        if bits == 10:
            stream.options = {**stream.options, "x265-params": "log-level=error"}
        context = stream.codec_context
        context.colorspace, context.color_range, context.color_primaries, context.color_trc = 1, 1, 1, 1
        context.sample_aspect_ratio = Fraction(4, 3)
        stream.set_display_rotation(90)
        for frame in frames:
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
                format=pix_fmt, dst_colorspace="ITU709"
            )
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))
    return path


def interpolate(weights, *arguments: object) -> str:
    result = run_interpolate_cli(*arguments, weights_folder=weights)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("codec,suffix,decoder", CODECS)
def test_every_codec_keeps_colour_tags_rotation_aspect_and_timing(tmp_path, weights, codec, suffix, decoder):
    source = tagged_clip(tmp_path / "in.mp4")
    output = tmp_path / f"out{suffix}"
    preset = ("--encoder-preset", FASTEST[codec]) if codec in FASTEST else ()
    printed = interpolate(weights, source, "-o", output, "--codec", codec, *preset)
    with VideoReader(source) as reader:
        tags_in, presentation_in = reader.colour, reader.presentation
    with VideoReader(output) as reader:
        assert reader.stream.codec_context.name in DECODERS.get(decoder, {decoder})
        colour = reader.colour
        if codec == "ffv1":  # RGB: no matrix, full range; the primaries and transfer stay
            assert (colour.primaries, colour.transfer) == (tags_in.primaries, tags_in.transfer)
        else:
            assert (colour.matrix, colour.range, colour.primaries, colour.transfer) == (1, 1, 1, 1)
        assert reader.presentation.rotation == pytest.approx(presentation_in.rotation)
        # kept, or a note says it was dropped (FFV1, AV1 and VP9 in Matroska/WebM)
        dropped = f"note: pixel aspect 4/3 dropped: {codec} in {suffix} does not carry it" in printed
        assert (reader.presentation.sample_aspect_ratio == Fraction(4, 3)) != dropped, printed
        assert dropped == (codec in ("ffv1", "av1", "vp9") and suffix in (".mkv", ".webm"))
        assert reader.info.fps == 48
        frames = list(reader.frames())
    assert len(frames) == 12  # ×2 of 6, the last held
    assert stream_seconds(output, "video") == pytest.approx(12 / 48, abs=2e-3)  # Matroska: milliseconds


def test_webm_is_vp9_by_default_and_a_codec_its_container_cannot_hold_is_refused(tmp_path, weights):
    source = tagged_clip(tmp_path / "in.mp4")
    interpolate(weights, source, "-o", tmp_path / "out.webm", "--encoder-preset", "8")
    with VideoReader(tmp_path / "out.webm") as reader:
        assert reader.stream.codec_context.name == "vp9"
    result = run_interpolate_cli(
        source, "-o", tmp_path / "out.mp4", "--codec", "prores", weights_folder=weights
    )
    assert result.exit_code == 2
    assert "prores cannot be written into .mp4; use .mkv, .mov" in result.output


@pytest.mark.parametrize(
    "arguments,message",
    [
        (("--codec", "av1", "--crf", "64"), "--crf of av1 must be between 0 (best) and 63, got 64"),
        (("--crf", "52"), "--crf of h264 must be between 0 (best) and 51, got 52"),
        (("--codec", "prores", "--crf", "10"), "--crf does not apply to prores"),
        (("--encoder-preset", "9"), "--encoder-preset of h264 must be one of ultrafast"),
        (("--codec", "vp9", "--encoder-preset", "fast"), "--encoder-preset of vp9 must be one of 8, 7"),
        (("--start", "-1"), "--start must be 0 or more seconds, got -1"),
        (("--duration", "0"), "--duration must be more than 0 seconds, got 0"),
    ],
)
def test_quality_and_trim_options_out_of_range_are_one_error_line(tmp_path, weights, arguments, message):
    source = tagged_clip(tmp_path / "in.mp4")
    suffix = {"av1": ".mkv", "prores": ".mov", "vp9": ".webm"}.get(arguments[1], ".mp4")
    result = run_interpolate_cli(source, "-o", tmp_path / f"out{suffix}", *arguments, weights_folder=weights)
    assert result.exit_code == 2, result.output
    assert f"error: {message}" in result.output
    assert "Traceback" not in result.output


def test_crf_and_preset_defaults_per_codec():
    assert check_crf(None, "h264") == 18 and check_encoder_preset(None, "h264") == "medium"
    assert check_crf(None, "hevc") == 20 and check_crf(None, "av1") == 28 and check_crf(None, "vp9") == 24
    assert check_crf(None, "prores") is None and check_encoder_preset(None, "ffv1") is None
    with pytest.raises(OptionError):
        check_encoder_preset("medium", "prores")


@pytest.mark.parametrize(
    "codec,suffix,bits", [("hevc", ".mkv", 10), ("prores", ".mov", 10), ("h264", ".mp4", 8)]
)
def test_ten_bit_input_stays_ten_bit_where_the_codec_allows(tmp_path, weights, codec, suffix, bits):
    source = tagged_clip(tmp_path / "in.mkv", bits=10)
    output = tmp_path / f"out{suffix}"
    preset = ("--encoder-preset", FASTEST[codec]) if codec in FASTEST else ()
    text = interpolate(weights, source, "-o", output, "--codec", codec, *preset)
    # a note only where the depth is cut (sepgan.media.writer.frame_bits; tests/test_ten_bit.py)
    assert ("note: the input's 10 bits per sample are cut to 8: h264 is written in 8" in text) == (bits == 8)
    with VideoReader(output) as reader:
        assert reader.colour.bits == bits
        assert (reader.colour.matrix, reader.colour.primaries) == (1, 1)


@pytest.mark.parametrize("codec,suffix", [("hevc", ".mkv"), ("vp9", ".webm")])
def test_hevc_and_vp9_segments_join_into_one_stream(tmp_path, codec, suffix):
    source = make_clip(tmp_path / "in.mkv", moving_frames(30, 48, 64), Fraction(24), tone_seconds=30 / 24)
    flags = ("--codec", codec, "--encoder-preset", FASTEST[codec])
    interpolate(None, source, "-o", tmp_path / f"one{suffix}", *flags)
    interpolate(None, source, "-o", tmp_path / f"seg{suffix}", *flags, "--segment-seconds", "0.3")
    decoded = {}
    for name in ("one", "seg"):
        with av.open(str(tmp_path / f"{name}{suffix}")) as container:
            assert container.streams.video[0].codec_context.name == codec
            frames = list(container.decode(video=0))  # one stream that decodes from start to end
            decoded[name] = [frame.time for frame in frames], [frame.key_frame for frame in frames]
        assert stream_seconds(tmp_path / f"{name}{suffix}", "audio") == pytest.approx(30 / 24, abs=0.03)
    assert decoded["seg"][0] == decoded["one"][0] and len(decoded["seg"][0]) == 60
    assert sum(decoded["seg"][1]) > 1  # each part starts with a keyframe: it was joined, not one pass


def test_start_and_duration_trim_the_video_and_its_audio(tmp_path):
    # Frame k shows a grey level of 8·k, so the frames kept say where the trim fell.
    frames = [np.full((48, 64, 3), 8 * k, np.uint8) for k in range(24)]
    source = make_clip(tmp_path / "in.mkv", frames, Fraction(24), tone_seconds=1.0)
    output = tmp_path / "out.mkv"
    interpolate(None, source, "-o", output, "--codec", "ffv1", "--start", "0.25", "--duration", "0.5")
    with av.open(str(output)) as container:
        pictures = [frame for frame in container.decode(video=0)]
    assert len(pictures) == 24  # input frames 6 … 17, ×2
    assert pictures[0].time == pytest.approx(0, abs=1e-3)
    assert pictures[0].to_ndarray(format="rgb24")[0, 0, 0] == 8 * 6
    assert pictures[-2].to_ndarray(format="rgb24")[0, 0, 0] == 8 * 17
    assert stream_seconds(output, "audio") == pytest.approx(0.5, abs=0.03)


def gop_clip(path: Path, count: int = 48) -> Path:
    """``count`` frames of H.264 at 24 fps, a keyframe every 6 with 2 B-frames, frame k a grey level
    of 5·k, and a 440 Hz AAC tone as long; several GOPs, so that a trim can seek."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "10", "g": "6", "keyint_min": "6", "bf": "2"}
        audio = container.add_stream("aac", rate=48000, layout="mono")
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(48000 * count // 24) / 48000)).astype(np.float32)
        for k in range(count):
            picture = np.full((48, 64, 3), 5 * k, np.uint8)
            container.mux(video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
            for start in range(2000 * k, 2000 * (k + 1), 1000):  # 1/24 s of sound per frame
                chunk = av.AudioFrame.from_ndarray(
                    tone[None, start : start + 1000], format="fltp", layout="mono"
                )
                chunk.sample_rate, chunk.pts = 48000, start
                container.mux(audio.encode(chunk))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return path


def decoded_output(path: Path) -> tuple[list, list]:
    """An output's video frames (time, RGB) and audio packets (pts, bytes)."""
    with av.open(str(path)) as container:
        pictures = [(frame.pts, frame.to_ndarray(format="rgb24")) for frame in container.decode(video=0)]
    with av.open(str(path)) as container:
        sound = [(packet.pts, bytes(packet)) for packet in container.demux(audio=0) if packet.size]
    return pictures, sound


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_trim_seeks_to_the_keyframe_before_and_keeps_the_same_frames(
    tmp_path, weights, monkeypatch, suffix
):
    source = gop_clip(tmp_path / f"in{suffix}")
    decoded, seeks = VideoReader.decoded, []

    def counted(self, on_packet=None, start=None):
        seeks.append(start)
        for frame in decoded(self, on_packet, start):
            seeks.append(frame.pts)
            yield frame

    monkeypatch.setattr(VideoReader, "decoded", counted)
    trim = ("--codec", "ffv1", "--start", "1.3", "--duration", "0.4")
    interpolate(weights, source, "-o", tmp_path / "sought.mkv", *trim)
    # Frames 32 to 40 (1.333 s to 1.667 s) are kept; the decode seeks to keyframe 30, before frame 31,
    # and decodes 30 … 41 (41 ends the span), not the 42 frames from the start.
    assert seeks[0] is not None and len(seeks) - 1 == 12
    monkeypatch.setattr(VideoReader, "decoded", decoded)
    monkeypatch.setattr("sepgan.jobs._preroll", lambda *arguments: None)  # today's way: from the start
    interpolate(weights, source, "-o", tmp_path / "from_start.mkv", *trim)
    sought, from_start = decoded_output(tmp_path / "sought.mkv"), decoded_output(tmp_path / "from_start.mkv")
    assert len(sought[0]) == 2 * 9 and sought[0][0][1][0, 0, 0] == pytest.approx(5 * 32, abs=2)
    assert [pts for pts, _ in sought[0]] == [pts for pts, _ in from_start[0]]
    for (_, one), (_, other) in zip(sought[0], from_start[0], strict=True):
        np.testing.assert_array_equal(one, other)
    assert sought[1] == from_start[1] and len(sought[1]) >= 18  # the same audio packets, 0.4 s of them


def test_a_trim_whose_seek_lands_elsewhere_decodes_from_the_start(tmp_path, weights, monkeypatch):
    source = gop_clip(tmp_path / "in.mp4")
    trim = ("--codec", "ffv1", "--start", "1.3", "--duration", "0.4")
    interpolate(weights, source, "-o", tmp_path / "expected.mkv", *trim)
    seek = VideoReader._seek
    # A demuxer that lands a GOP late: the first frame is not the one the index promised.
    monkeypatch.setattr(
        VideoReader,
        "_seek",
        lambda self, pts: seek(self, pts + round(Fraction(6, 24) / self.stream.time_base)),
    )
    decoded, starts = VideoReader.decoded, []

    def recorded(self, on_packet=None, start=None):
        starts.append(start)
        return decoded(self, on_packet, start)

    monkeypatch.setattr(VideoReader, "decoded", recorded)
    interpolate(weights, source, "-o", tmp_path / "fallback.mkv", *trim)
    assert len(starts) == 2 and starts[0] is not None and starts[1] is None  # sought, then from the start
    expected, fallback = decoded_output(tmp_path / "expected.mkv"), decoded_output(tmp_path / "fallback.mkv")
    assert [pts for pts, _ in expected[0]] == [pts for pts, _ in fallback[0]]
    for (_, one), (_, other) in zip(expected[0], fallback[0], strict=True):
        np.testing.assert_array_equal(one, other)
    assert expected[1] == fallback[1]


def test_trimming_a_frame_folder_is_refused(tmp_path, weights):
    folder = tmp_path / "frames"
    folder.mkdir()
    for k, frame in enumerate(moving_frames(3, 32, 32)):
        av.VideoFrame.from_ndarray(frame, format="rgb24").to_image().save(folder / f"{k}.png")
    result = run_interpolate_cli(folder, "-o", tmp_path / "out", "--start", "1", weights_folder=weights)
    assert result.exit_code == 2
    assert "error: --start and --duration trim a video" in result.output


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="Linux scheduling policies")
def test_writing_av1_leaves_this_threads_scheduling_policy_alone(tmp_path, weights):
    # SVT-AV1 switches the thread that opens it to SCHED_FIFO 99 when run as root; every later child
    # process would inherit it (a two-process torchrun test then hung the machine).
    before = os.sched_getscheduler(0)
    interpolate(weights, tagged_clip(tmp_path / "in.mp4"), "-o", tmp_path / "out.mp4", "--codec", "av1",
                "--encoder-preset", FASTEST["av1"])  # fmt: skip
    assert os.sched_getscheduler(0) == before
