"""What an input carries besides its pixels survives `sepgan interpolate`: rotation, pixel
aspect, stream tags.

Videos keep their display matrix, sample aspect ratio and stream tags; JPEG
EXIF orientation is applied to image inputs, as viewers apply it.

Inputs are written here with PyAV (display matrix, sample aspect ratio) and,
for a subtitle stream, with the ffmpeg command line; the expected values are
the ones written, read back from the output the way ffprobe reads them.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from sepgan.cli import app
from sepgan.media.frames import load_image_uint8
from sepgan.media.reader import VideoReader
from synthetic import moving_frames, texture

runner = CliRunner()


def invoke(weights: Path, *arguments: object):
    args = ["interpolate", *map(str, arguments), "--device", "cpu", "--quiet", "--weights", str(weights)]
    return runner.invoke(app, args)


def write_clip(
    path: Path,
    *,
    rotation: float = 0,
    hflip: bool = False,
    aspect: Fraction | None = None,
    audio_tags: dict[str, str] | None = None,
    count: int = 4,
) -> Path:
    """A 48×32 H.264 clip at 24 fps with a display rotation, a sample aspect ratio and a tagged AAC track."""
    frames = moving_frames(count, 32, 48)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        if rotation or hflip:
            stream.set_display_rotation(rotation, hflip=hflip)
        if aspect is not None:
            stream.codec_context.sample_aspect_ratio = aspect
        audio = None
        if audio_tags is not None:
            audio = container.add_stream("aac", rate=48000, layout="mono")
            audio.metadata.update(audio_tags)
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
        if audio is not None:
            samples = 48000 * count // 24
            tone = (0.3 * np.sin(np.arange(samples) / 10)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(
                    tone[None, start : start + 1024], format="fltp", layout="mono"
                )
                chunk.sample_rate, chunk.pts = 48000, start
                container.mux(audio.encode(chunk))
            container.mux(audio.encode(None))
    return path


def first_frame_rotation(path: Path) -> float:
    """The rotation players apply, in degrees counter-clockwise, as ffprobe reports it."""
    with VideoReader(path) as reader:
        return reader.presentation.rotation


@pytest.mark.parametrize(
    "rotation,hflip,suffix",
    [
        (90, False, ".mp4"),
        (180, False, ".mp4"),
        (-90, False, ".mkv"),
        (90, True, ".mov"),
        (33, False, ".mp4"),
    ],
)
def test_the_display_matrix_is_kept_for_every_angle(tmp_path, weights, rotation, hflip, suffix):
    source = write_clip(tmp_path / "in.mp4", rotation=rotation, hflip=hflip)
    with VideoReader(source) as reader:
        matrix = reader.presentation.display_matrix
    assert matrix is not None and (first_frame_rotation(source) - rotation) % 360 == pytest.approx(
        0, abs=1e-3
    )
    output = tmp_path / f"out{suffix}"
    result = invoke(weights, source, "-o", output)
    assert result.exit_code == 0, result.output
    assert (first_frame_rotation(output) - rotation) % 360 == pytest.approx(0, abs=1e-3)
    with VideoReader(output) as reader:
        assert reader.presentation.display_matrix == matrix  # the flip too, bit for bit
    with av.open(str(output)) as container:  # PyAV's own reading: whole degrees
        assert (next(container.decode(video=0)).rotation - round(rotation)) % 360 in (0, 359)


def test_rotation_that_a_container_cannot_hold_is_named(tmp_path, weights):
    source = write_clip(tmp_path / "in.mp4", rotation=90)
    result = invoke(weights, source, "-o", tmp_path / "out.avi")
    assert result.exit_code == 0, result.output
    assert "note: rotation 90° dropped: .avi cannot hold a display matrix" in result.output
    result = invoke(weights, write_clip(tmp_path / "odd.mp4", rotation=33), "-o", tmp_path / "frames")
    assert result.exit_code == 0, result.output
    assert "note: rotation 33° not kept: PNG frames are stored as decoded" in result.output


# What `ffmpeg -i in -frames:v 1 out.png` (which applies the display matrix) gives, checked by hand.
SHOWN = {
    (90, False): lambda frame: np.rot90(frame, 1),
    (180, False): lambda frame: np.rot90(frame, 2),
    (-90, False): lambda frame: np.rot90(frame, -1),
    (90, True): lambda frame: np.fliplr(np.rot90(frame, 1)),
    (0, True): np.fliplr,
}


@pytest.mark.parametrize("rotation,hflip", list(SHOWN))
def test_png_frames_are_turned_as_players_show_them(tmp_path, weights, rotation, hflip):
    source = write_clip(tmp_path / "in.mp4", rotation=rotation, hflip=hflip)
    with VideoReader(source) as reader:
        stored = next(reader.frames())
    result = invoke(weights, source, "-o", tmp_path / "frames")
    assert result.exit_code == 0, result.output
    turn = "mirroring (ffprobe: rotation" if hflip else f"rotation {rotation}°"
    assert f"note: {turn}" in result.output and "applied to the PNG frames" in result.output
    first = np.asarray(Image.open(tmp_path / "frames" / "000000.png"))
    np.testing.assert_array_equal(first, SHOWN[rotation, hflip](stored))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_the_sample_aspect_ratio_is_kept(tmp_path, weights, suffix):
    source = write_clip(tmp_path / "in.mp4", aspect=Fraction(4, 3))
    output = tmp_path / f"out{suffix}"
    result = invoke(weights, source, "-o", output)
    assert result.exit_code == 0, result.output
    with av.open(str(output)) as container:
        stream = container.streams.video[0]
        assert stream.sample_aspect_ratio == Fraction(4, 3)
        assert stream.display_aspect_ratio == Fraction(48 * 4, 32 * 3)  # 2:1 on screen, not 3:2


@pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="the ffmpeg command line builds the subtitle track"
)
def test_audio_and_subtitle_tags_are_copied(tmp_path, weights):
    clip = write_clip(tmp_path / "clip.mkv", audio_tags={"language": "jpn", "title": "commentary"})
    (tmp_path / "signs.srt").write_text("1\n00:00:00,000 --> 00:00:00,100\nHello\n")
    source = tmp_path / "in.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", clip, "-i", tmp_path / "signs.srt", "-map", "0", "-map", "1",
         "-c", "copy", "-metadata:s:s:0", "language=eng", "-metadata:s:s:0", "title=Signs",
         "-disposition:s:0", "forced", source],
        check=True,
    )  # fmt: skip
    result = invoke(weights, source, "-o", tmp_path / "out.mkv")
    assert result.exit_code == 0, result.output
    with av.open(str(tmp_path / "out.mkv")) as container:
        audio, subtitles = container.streams.audio[0], container.streams.subtitles[0]
        assert (audio.metadata.get("language"), audio.metadata.get("title")) == ("jpn", "commentary")
        assert (subtitles.metadata.get("language"), subtitles.metadata.get("title")) == ("eng", "Signs")
        assert subtitles.disposition & av.stream.Disposition.forced
    # MP4 keeps the audio track's language and title too (its subtitles are dropped with a note).
    result = invoke(weights, source, "-o", tmp_path / "out.mp4")
    assert result.exit_code == 0, result.output
    with av.open(str(tmp_path / "out.mp4")) as container:
        audio = container.streams.audio[0]
        assert audio.metadata.get("language") == "jpn" and "commentary" in audio.metadata.values()


def save_oriented_jpeg(path: Path, stored: np.ndarray, orientation: int) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    return path


@pytest.mark.parametrize("orientation,turn", [(6, lambda a: np.rot90(a, -1)),
                                              (3, lambda a: a[::-1, ::-1]),
                                              (8, lambda a: np.rot90(a, 1)),
                                              (2, lambda a: a[:, ::-1])])  # fmt: skip
def test_jpeg_exif_orientation_is_applied(tmp_path, orientation, turn):
    path = save_oriented_jpeg(tmp_path / "a.jpg", texture(48, 64), orientation)
    with Image.open(path) as image:
        stored = np.asarray(image.convert("RGB"))
    assert stored.shape == (48, 64, 3)
    np.testing.assert_array_equal(load_image_uint8(path), turn(stored))


def test_an_exif_rotated_pair_gives_an_upright_middle_frame(tmp_path, weights):
    frames = moving_frames(2, 48, 64)
    paths = [save_oriented_jpeg(tmp_path / f"{index}.jpg", frame, 6) for index, frame in enumerate(frames)]
    result = invoke(weights, *paths, "-o", tmp_path / "mid.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "mid.png").size == (48, 64)  # as a viewer shows the inputs, not 64×48
    (tmp_path / "folder").mkdir()
    for path in paths:
        path.rename(tmp_path / "folder" / path.name)
    result = invoke(weights, tmp_path / "folder", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    first = np.asarray(Image.open(tmp_path / "out" / "000000.png"))
    np.testing.assert_array_equal(first, load_image_uint8(tmp_path / "folder" / "0.jpg"))
    assert first.shape == (64, 48, 3)


def with_chapters(source: Path, target: Path) -> Path:
    """``source`` remuxed with a title, an artist and two chapters (0–0.5 s, 0.5 s–end)."""
    with av.open(str(source)) as inputs, av.open(str(target), "w") as output:
        streams = {stream.index: output.add_stream_from_template(stream) for stream in inputs.streams}
        output.metadata.update({"title": "My Film", "artist": "Someone"})
        millisecond = Fraction(1, 1000)
        output.set_chapters([
            {"id": 1, "start": 0, "end": 500, "time_base": millisecond, "metadata": {"title": "Opening"}},
            {"id": 2, "start": 500, "end": 1000, "time_base": millisecond, "metadata": {"title": "End"}},
        ])  # fmt: skip
        for packet in inputs.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                output.mux(packet)
    return target


def file_info(path: Path) -> tuple[dict[str, str], list[tuple[float, float, str]]]:
    with av.open(str(path)) as container:
        tags = {key.lower(): value for key, value in container.metadata.items() if key.lower() != "encoder"}
        chapters = [
            (float(c["start"] * c["time_base"]), float(c["end"] * c["time_base"]), c["metadata"]["title"])
            for c in container.chapters()
        ]
    tags = {key: value for key, value in tags.items() if key in ("title", "artist")}
    return tags, chapters


@pytest.mark.parametrize(("suffix", "flags", "scale"), [(".mp4", (), 1), (".mkv", ("--slowmo", "2"), 2)])
def test_file_tags_and_chapters_are_kept(tmp_path, weights, suffix, flags, scale):
    source = with_chapters(write_clip(tmp_path / "plain.mp4", count=24), tmp_path / "in.mp4")
    output = tmp_path / f"out{suffix}"
    result = invoke(weights, source, "-o", output, *flags)
    assert result.exit_code == 0, result.output
    tags, chapters = file_info(output)
    assert tags == {"title": "My Film", "artist": "Someone"}
    assert chapters == [(0.0, 0.5 * scale, "Opening"), (0.5 * scale, 1.0 * scale, "End")]
    frames = invoke(weights, source, "-o", tmp_path / "frames")
    assert "note: 2 chapters and 2 file tags dropped: a PNG sequence has none" in frames.output
