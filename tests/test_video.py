"""Video I/O: exact frame rates, lossless and odd-size round trips, atomic writes, audio, scene cuts."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from sepgan.media.formats import VideoError, output_codec
from sepgan.media.fps import format_fps, parse_fps
from sepgan.media.reader import VideoReader, probe_video
from sepgan.media.writer import PngSequenceWriter, VideoWriter
from synthetic import REAL_VIDEOS, decode_all, make_clip, moving_frames, stream_seconds


@pytest.mark.parametrize(
    "text,expected",
    [
        ("120", Fraction(120)),
        ("60000/1001", Fraction(60000, 1001)),
        ("59.94", Fraction(60000, 1001)),
        ("119.88", Fraction(120000, 1001)),
        ("23.976", Fraction(24000, 1001)),
        ("29.97", Fraction(30000, 1001)),
        ("12.5", Fraction(25, 2)),
    ],
)
def test_parse_fps_reads_exact_rationals(text, expected):
    assert parse_fps(text) == expected


@pytest.mark.parametrize("text", ["0", "-5", "abc", "1/0"])
def test_parse_fps_rejects_nonsense(text):
    with pytest.raises(VideoError):
        parse_fps(text)


def test_format_fps():
    assert format_fps(Fraction(120)) == "120"
    assert format_fps(Fraction(120000, 1001)) == "120000/1001 (119.88)"


def test_output_codec_follows_the_suffix(tmp_path):
    assert output_codec(tmp_path / "a.mp4") == "h264"
    assert output_codec(tmp_path / "frames") == "png"
    assert output_codec(tmp_path / "a.mkv", "ffv1") == "ffv1"
    with pytest.raises(VideoError, match="ffv1 cannot be written"):
        output_codec(tmp_path / "a.mp4", "ffv1")
    with pytest.raises(VideoError, match="unknown video container"):
        output_codec(tmp_path / "a.xyz")


def test_ffv1_round_trip_is_lossless_at_an_odd_size_and_keeps_an_exact_rate(tmp_path):
    frames = moving_frames(3, 239, 421)
    fps = Fraction(120000, 1001)
    with VideoWriter(tmp_path / "a.mkv", fps=fps, width=421, height=239, codec="ffv1") as writer:
        for frame in frames:
            writer.write(frame)
    decoded = decode_all(tmp_path / "a.mkv")
    assert len(decoded) == 3
    for original, back in zip(frames, decoded, strict=True):
        np.testing.assert_array_equal(original, back)
    # Matroska keeps millisecond timestamps, so the rate reads back approximately.
    assert abs(float(probe_video(tmp_path / "a.mkv").fps) - 119.88) < 0.1


def test_h264_mp4_keeps_120000_over_1001_exactly_and_odd_sizes_use_yuv444(tmp_path):
    frames = moving_frames(4, 239, 421)
    fps = Fraction(120000, 1001)
    with VideoWriter(tmp_path / "a.mp4", fps=fps, width=421, height=239, crf=10) as writer:
        for frame in frames:
            writer.write(frame)
    info = probe_video(tmp_path / "a.mp4")
    assert (info.width, info.height, info.fps, info.frame_count) == (421, 239, fps, 4)
    with av.open(str(tmp_path / "a.mp4")) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv444p"
    decoded = decode_all(tmp_path / "a.mp4")
    assert np.abs(decoded[0].astype(int) - frames[0]).mean() < 3  # lossy, but close at CRF 10


def test_writer_leaves_nothing_when_aborted(tmp_path):
    with (
        pytest.raises(RuntimeError),
        VideoWriter(tmp_path / "a.mp4", fps=Fraction(24), width=32, height=32) as writer,
    ):
        writer.write(np.zeros((32, 32, 3), np.uint8))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError), PngSequenceWriter(tmp_path / "frames") as png_writer:
        png_writer.write(np.zeros((8, 8, 3), np.uint8))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_png_sequence_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "keep.txt").write_text("mine")
    with pytest.raises(VideoError, match="not empty"):
        PngSequenceWriter(tmp_path / "frames")
    assert (tmp_path / "frames" / "keep.txt").read_text() == "mine"


def test_audio_packets_are_copied_unchanged(tmp_path):
    frames = moving_frames(12, 32, 48)
    source = make_clip(tmp_path / "in.mkv", frames, Fraction(24), tone_seconds=0.5)
    with VideoReader(source) as reader:
        assert len(reader.passthrough) == 1
        with VideoWriter(
            tmp_path / "out.mkv",
            fps=Fraction(48),
            width=48,
            height=32,
            codec="ffv1",
            passthrough=reader.passthrough,
        ) as writer:
            for frame in reader.frames(on_packet=writer.copy_packet):
                writer.write(frame)
                writer.write(frame)
    assert abs(stream_seconds(tmp_path / "out.mkv", "audio") - stream_seconds(source, "audio")) < 1e-3
    assert abs(stream_seconds(tmp_path / "out.mkv", "video") - 0.5) < 0.03


def test_missing_and_corrupt_files_raise_video_error(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        VideoReader(tmp_path / "missing.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 100)
    with pytest.raises(VideoError, match="cannot read video"):
        VideoReader(tmp_path / "junk.mp4")


@pytest.mark.skipif(not (REAL_VIDEOS / "carphone_pristine.mp4").is_file(), reason="real clips not present")
def test_a_truncated_real_video_raises_video_error(tmp_path):
    data = (REAL_VIDEOS / "carphone_pristine.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError), VideoReader(tmp_path / "cut.mp4") as reader:
        for _ in reader.frames():
            pass


def test_real_clip_probe():
    if not REAL_VIDEOS.is_dir():
        pytest.skip("real clips not present")
    info = probe_video(REAL_VIDEOS / "carphone_pristine.mp4")
    assert (info.width, info.height, info.fps) == (176, 144, Fraction(30000, 1001))
