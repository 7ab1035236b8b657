"""The streams beside the video: every audio codec FFmpeg decodes reaches MP4 and MKV, and an
empty or failing stream is named, never taken for the video.

Inputs are written with PyAV as old cameras and Windows tools write them (MJPEG with 8-bit PCM
or IMA ADPCM in AVI, WMV2 with WMA2 in ASF): their headers give the channel layout as
"1 channels", which FFmpeg's AAC encoder refuses (issue 29, item 1).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from sepgan.media.audio import AudioTranscoder, encoder_layout, encoder_rate
from sepgan.media.reader import VideoReader
from synthetic import make_av_clip, moving_frames, run_interpolate_cli, texture

OLD_CAMERAS = {  # name: (suffix, video codec, its pixel format, audio codec, its sample format)
    "wmv2+wma2": (".wmv", "wmv2", "yuv420p", "wmav2", "fltp"),
    "mjpeg+pcm_u8": (".avi", "mjpeg", "yuvj420p", "pcm_u8", "u8"),
    "mjpeg+adpcm_ima": (".avi", "mjpeg", "yuvj420p", "adpcm_ima_wav", "s16p"),
}


def old_camera_clip(folder: Path, kind: str) -> Path:
    suffix, video_codec, pix_fmt, audio_codec, sample_format = OLD_CAMERAS[kind]
    return make_av_clip(
        folder / f"in{suffix}", video_codec, audio_codec, pix_fmt=pix_fmt, sample_format=sample_format
    )


def audio_streams(path: Path) -> list[tuple[str, str, int, float]]:
    """(codec, layout, sample rate, seconds from the first packet to the last one's end) per audio stream."""
    found = []
    with av.open(str(path)) as container:
        for stream in container.streams.audio:
            packets = [packet for packet in container.demux(stream) if packet.pts is not None]
            container.seek(0)
            first = min(packet.pts for packet in packets)
            end = max(packet.pts + packet.duration for packet in packets)
            context = stream.codec_context
            seconds = float((end - first) * stream.time_base)
            found.append((context.name, context.layout.name, context.sample_rate, seconds))
    return found


@pytest.mark.parametrize("kind", sorted(OLD_CAMERAS))
def test_old_camera_audio_is_reencoded_to_aac_in_mp4(tmp_path, weights, kind):
    source = old_camera_clip(tmp_path, kind)
    output = tmp_path / "out.mp4"
    result = run_interpolate_cli(source, "-o", output, weights_folder=weights)
    assert result.exit_code == 0, result.output
    audio_codec = OLD_CAMERAS[kind][3]
    assert f"note: audio stream 1 ({audio_codec}) re-encoded to AAC for .mp4" in result.output
    [(codec, layout, rate, seconds)] = audio_streams(output)
    # The second of tone, mono at its own rate; AAC adds its 1024-sample priming and framing.
    assert (codec, layout, rate) == ("aac", "mono", 22050)
    assert 1.0 <= seconds <= 1.0 + 3 * 1024 / 22050


@pytest.mark.parametrize(("kind", "kept"), [("mjpeg+pcm_u8", "pcm_u8"), ("mjpeg+adpcm_ima", "aac")])
def test_old_camera_audio_goes_into_matroska(tmp_path, weights, kind, kept):
    # Matroska takes 8-bit PCM as it is; PyAV's FFmpeg has no Matroska tag for IMA ADPCM: AAC.
    source = old_camera_clip(tmp_path, kind)
    output = tmp_path / "out.mkv"
    result = run_interpolate_cli(source, "-o", output, weights_folder=weights)
    assert result.exit_code == 0, result.output
    [(codec, _, rate, seconds)] = audio_streams(output)
    assert (codec, rate) == (kept, 22050)
    assert seconds == pytest.approx(1.0, abs=0.1)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command to write WMA into MKV")
def test_h264_with_wma_in_matroska_goes_into_mp4(tmp_path, weights):
    # PyAV refuses to mux WMA into Matroska (FFmpeg's normal compliance); the ffmpeg command does.
    wmv = old_camera_clip(tmp_path, "wmv2+wma2")
    source = tmp_path / "in.mkv"
    command = ["ffmpeg", "-v", "error", "-i", wmv, "-map", "0", "-c:a", "copy", "-c:v", "libx264", source]
    subprocess.run(command, check=True)
    for suffix in (".mp4", ".mkv"):
        output = tmp_path / f"out{suffix}"
        result = run_interpolate_cli(source, "-o", output, weights_folder=weights)
        assert result.exit_code == 0, result.output
        assert [codec for codec, *_ in audio_streams(output)] == ["aac"]


def test_a_declared_audio_stream_without_packets_is_dropped_with_a_note(tmp_path, weights):
    # A DVB capture: the program map lists an AC-3 track that never carries a packet.
    source = make_av_clip(
        tmp_path / "in.ts",
        "libx264",
        "ac3",
        sample_format="fltp",
        layout="stereo",
        rate=48000,
        audio_packets=False,
    )
    for suffix in (".mkv", ".mp4"):
        output = tmp_path / f"out{suffix}"
        result = run_interpolate_cli(source, "-o", output, weights_folder=weights)
        assert result.exit_code == 0, result.output
        assert "note: audio stream 1 (ac3) dropped: it carries no packets" in result.output
        with av.open(str(output)) as container:
            assert [stream.type for stream in container.streams] == ["video"]
            assert container.streams.video[0].frames in (0, 24)  # MKV does not count them


def test_a_failing_audio_stream_is_named_not_the_video(tmp_path, weights, monkeypatch):
    def refuse(self, packet):
        raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(AudioTranscoder, "encode", refuse)
    source = old_camera_clip(tmp_path, "mjpeg+adpcm_ima")
    result = run_interpolate_cli(source, "-o", tmp_path / "out.mp4", weights_folder=weights)
    assert result.exit_code == 2
    [line] = [line for line in result.output.splitlines() if line.strip()]
    message = line.removeprefix(f"error: {source}: ")
    assert message.startswith(
        "audio stream 1 (adpcm_ima_wav, 1 channels, 22050 Hz) cannot be written for out.mp4"
    )
    assert message.endswith("(Invalid data found when processing input)") and "video" not in message
    assert not (tmp_path / "out.mp4").exists()


def test_the_aac_encoder_gets_a_rate_and_layout_it_takes():
    assert encoder_layout(av.AudioLayout("1 channels")).name == "mono"
    assert encoder_layout(av.AudioLayout("2 channels")).name == "stereo"
    assert encoder_layout(av.AudioLayout("6 channels")).name == "5.1"
    assert encoder_layout(av.AudioLayout("5.1(side)")).name == "5.1(side)"
    assert encoder_layout(av.AudioLayout("12 channels")).name == "stereo"
    assert [encoder_rate(rate) for rate in (4000, 22050, 50000, 192000)] == [7350, 22050, 64000, 96000]


def jpeg_bytes(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(texture(height, width)).save(buffer, format="JPEG")
    return buffer.getvalue()


def thumbnail_then_video(path: Path) -> Path:
    """An MKV whose first video track is a one-frame MJPEG thumbnail, its second the 12-frame video."""
    frames = moving_frames(12, 48, 64)
    with av.open(str(path), "w") as container:
        thumbnail = container.add_stream("mjpeg", rate=12)
        thumbnail.width, thumbnail.height, thumbnail.pix_fmt = 64, 48, "yuvj420p"
        video = container.add_stream("libx264", rate=12)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        container.mux(thumbnail.encode(av.VideoFrame.from_ndarray(frames[0], format="rgb24")))
        container.mux(thumbnail.encode(None))
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = index
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
    return path


def add_cover_art(container: av.container.OutputContainer) -> None:
    """A 64×48 JPEG cover (an ``attached_pic`` stream) with its one packet, in ``container``."""
    cover = container.add_stream("mjpeg")
    cover.width, cover.height, cover.pix_fmt = 64, 48, "yuvj420p"
    cover.disposition = av.stream.Disposition.attached_pic
    packet = av.Packet(jpeg_bytes())
    packet.stream, packet.pts, packet.dts, packet.is_keyframe = cover, 0, 0, True
    container.mux(packet)


def with_cover_art(path: Path) -> Path:
    """An MP4-family file (``.m4a``: audio only) with a JPEG cover (an ``attached_pic`` stream)."""
    with av.open(str(path), "w", format="mp4") as container:
        sound = container.add_stream("aac", rate=48000, layout="mono")
        add_cover_art(container)
        for start in range(0, 48000, 1024):
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 48000, start
            container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))
    return path


def test_a_thumbnail_track_before_the_video_is_passed_over(tmp_path, weights):
    source = thumbnail_then_video(tmp_path / "in.mkv")
    with VideoReader(source) as reader:
        assert reader.stream.index == 1
        assert len(list(reader.decoded())) == 12
    result = run_interpolate_cli(source, "-o", tmp_path / "out.mp4", weights_folder=weights)
    assert result.exit_code == 0, result.output
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 24


def test_audio_with_cover_art_has_no_video_stream(tmp_path, weights):
    source = with_cover_art(tmp_path / "song.m4a")
    result = run_interpolate_cli(source, "-o", tmp_path / "out.mp4", weights_folder=weights)
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {source}: no video stream (only cover art, an attached picture)"


def video_with_extras(path: Path) -> Path:
    """An MKV: H.264 video, a second (MPEG-4) video track, a font attachment, title/artist/comment."""
    frames = moving_frames(12, 48, 64)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=12)
        angle = container.add_stream("mpeg4", rate=12)
        for stream in (video, angle):
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.add_attachment("subtitles.ttf", "font/ttf", b"\x00\x01\x00\x00 a font's bytes")
        container.metadata.update({"title": "My Film", "artist": "Someone", "comment": "Shot at dusk"})
        for index, frame in enumerate(frames):
            for stream in (video, angle):
                picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
                picture.pts = index
                container.mux(stream.encode(picture))
        container.mux(video.encode(None))
        container.mux(angle.encode(None))
    return path


def streams_of(path: Path) -> list[tuple[str, str, bool]]:
    """(type, codec or attached file name, is cover art) of every stream."""
    with av.open(str(path)) as container:
        return [
            (
                stream.type,
                stream.metadata.get("filename", "")
                if stream.type == "attachment"
                else stream.codec_context.name,
                bool(stream.disposition & av.stream.Disposition.attached_pic),
            )
            for stream in container.streams
        ]


def test_attachments_a_second_video_and_file_tags_are_kept_in_matroska(tmp_path, weights):
    source = video_with_extras(tmp_path / "in.mkv")
    output = tmp_path / "out.mkv"
    result = run_interpolate_cli(source, "-o", output, weights_folder=weights)
    assert result.exit_code == 0, result.output
    assert streams_of(output) == [
        ("video", "h264", False),
        ("video", "mpeg4", False),
        ("attachment", "subtitles.ttf", False),
    ]
    with av.open(str(output)) as container:
        assert container.streams[2].codec_context is None
        tags = {key.lower(): value for key, value in container.metadata.items()}
        assert sum(1 for _ in container.demux(container.streams[1]) if _.size) == 12  # copied, not retimed
    assert {key: tags[key] for key in ("title", "artist", "comment")} == {
        "title": "My Film",
        "artist": "Someone",
        "comment": "Shot at dusk",
    }
    assert "note: video stream 1 (mpeg4) copied as it is, not interpolated" in result.output


def test_an_attachment_mp4_cannot_hold_is_named(tmp_path, weights):
    source = video_with_extras(tmp_path / "in.mkv")
    output = tmp_path / "out.mp4"
    result = run_interpolate_cli(source, "-o", output, weights_folder=weights)
    assert result.exit_code == 0, result.output
    assert (
        "note: attachment stream 2 (subtitles.ttf) dropped: .mp4 cannot hold attachments "
        "(write .mkv to keep it)"
    ) in result.output
    assert streams_of(output) == [("video", "h264", False), ("video", "mpeg4", False)]


def video_with_cover_art(path: Path) -> Path:
    """An MP4: 12 frames of H.264 and a JPEG cover (an ``attached_pic`` stream, MP4's covr atom)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=12)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        add_cover_art(container)
        for index, frame in enumerate(moving_frames(12, 48, 64)):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = index
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
    return path


@pytest.mark.parametrize("flags", [(), ("--slowmo", "2")])
def test_cover_art_is_kept(tmp_path, weights, flags):
    source = video_with_cover_art(tmp_path / "in.mp4")
    output = tmp_path / "out.mp4"
    result = run_interpolate_cli(source, "-o", output, *flags, weights_folder=weights)
    assert result.exit_code == 0, result.output
    assert streams_of(output) == [("video", "h264", False), ("video", "mjpeg", True)]
    with av.open(str(output)) as container:
        [picture] = [packet for packet in container.demux(container.streams[1]) if packet.size]
        assert bytes(picture) == jpeg_bytes()
    # Matroska has no cover art of its own: a one-frame track, as a stream copy writes it.
    matroska = run_interpolate_cli(source, "-o", tmp_path / "out.mkv", *flags, weights_folder=weights)
    assert matroska.exit_code == 0, matroska.output
    assert "note: cover art (video stream 1, mjpeg) kept as a one-frame video track" in matroska.output
