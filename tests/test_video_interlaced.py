"""Interlaced video is deinterlaced as it is decoded (bwdif, one frame per frame), with a note.

Each clip weaves two fields of a vertical edge moving right by 3 px per field
into every frame: the field shown first holds the scene at field time 2i, the
other at 2i + 1. Read as progressive, every frame is combed (alternate rows
disagree along the edge); deinterlaced, each frame is the first field's picture,
its edge at column 8 + 6i.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from av.codec.context import Flags
from typer.testing import CliRunner

from sepgan.cli import app
from sepgan.media.reader import VideoReader

WIDTH, HEIGHT, COUNT = 64, 48, 8
TOP_FIRST, BOTTOM_FIRST = 2, 3  # AVFieldOrder: tt, bb


def scene(field_time: int) -> np.ndarray:
    """Bright left of column 8 + 3·field_time, dark right of it."""
    columns = np.arange(WIDTH)[None, :].repeat(HEIGHT, axis=0)
    return np.where(columns < 8 + 3 * field_time, 220, 30).astype(np.uint8)


def woven(index: int, bottom_first: bool) -> np.ndarray:
    """Frame ``index`` as RGB: the first field (rows 0, 2 ... for top first) at 2i, the other at 2i + 1."""
    frame, second = scene(2 * index), scene(2 * index + 1)
    later_rows = slice(0, None, 2) if bottom_first else slice(1, None, 2)
    frame[later_rows] = second[later_rows]
    return np.repeat(frame[..., None], 3, axis=2)


def flag_fields(frames: list[av.VideoFrame], bottom_first: bool) -> list[av.VideoFrame]:
    """The frames flagged interlaced, in that field order, by FFmpeg's setfield (PyAV cannot flag them)."""
    graph = av.filter.Graph()
    source = graph.add_buffer(width=WIDTH, height=HEIGHT, format="yuv420p", time_base=Fraction(1, 25))
    setfield = graph.add("setfield", "bff" if bottom_first else "tff")
    sink = graph.add("buffersink")
    source.link_to(setfield)
    setfield.link_to(sink)
    graph.configure()
    flagged = []
    for frame in frames:
        graph.vpush(frame)
        flagged.append(graph.vpull())
    return flagged


def write_interlaced(path: Path, codec: str, field_order: int, bottom_first: bool = False) -> Path:
    """libx264 codes interlaced pictures (decoded frames are flagged); FFV1 leaves it to the container."""
    frames = []
    for index in range(COUNT):
        frame = av.VideoFrame.from_ndarray(woven(index, bottom_first), format="rgb24").reformat(
            format="yuv420p"
        )
        frame.pts, frame.time_base = index, Fraction(1, 25)
        frames.append(frame)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.field_order = field_order
        if codec == "libx264":
            stream.options = {"crf": "10"}
            stream.codec_context.flags |= Flags.interlaced_dct | Flags.interlaced_me
            frames = flag_fields(frames, bottom_first)  # x264 codes each frame in its flagged field order
        for frame in frames:
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def combing(frame: np.ndarray) -> float:
    """Mean |row − mean of its two neighbour rows| of the green channel: 0 for a vertical edge drawn whole."""
    green = frame[..., 1].astype(np.float64)
    return float(np.abs(green[1:-1] - (green[:-2] + green[2:]) / 2).mean())


def edge(frame: np.ndarray) -> float:
    """Mean column of the edge: the number of bright pixels per row."""
    return float((frame[..., 1] > 125).sum(axis=1).mean())


def as_progressive(path: Path) -> list[av.VideoFrame]:
    """The frames as FFmpeg decodes them, without deinterlacing: what sepgan read before."""
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


@pytest.mark.parametrize(("field_order", "bottom_first"), [(TOP_FIRST, False), (BOTTOM_FIRST, True)])
def test_flagged_h264_is_deinterlaced_with_a_note(tmp_path, field_order, bottom_first):
    source = write_interlaced(tmp_path / "in.mp4", "libx264", field_order, bottom_first)
    raw = as_progressive(source)
    assert all(frame.interlaced_frame for frame in raw)
    raw_combing = [combing(frame.to_ndarray(format="rgb24")) for frame in raw]
    assert min(raw_combing) > 8  # the input is what the issue describes

    with VideoReader(source) as reader:
        decoded = list(reader.decoded())
        frames = [frame.to_ndarray(format="rgb24") for frame in decoded]
        assert reader.notes == [
            "in.mp4 is interlaced: deinterlaced with bwdif in each frame's field order, one frame per "
            "frame, so the frame count and rate are unchanged"
        ]
    assert len(frames) == COUNT
    assert [frame.pts * frame.time_base for frame in decoded] == [
        frame.pts * frame.time_base for frame in raw
    ]
    combed = [combing(frame) for frame in frames]
    assert max(combed) < 0.5, combed
    assert np.mean(combed) < np.mean(raw_combing) / 20
    # The first field's instant, 2i: the wrong parity would show the other field's, 3 px further right.
    assert [round(edge(frame)) for frame in frames] == [8 + 6 * index for index in range(COUNT)]


@pytest.mark.parametrize(
    ("field_order", "bottom_first"), [(TOP_FIRST, False), (BOTTOM_FIRST, True), (4, True), (5, False)]
)  # 4, 5: tb, bt (coded first, shown first): the field shown first decides
def test_field_order_of_the_container_alone_deinterlaces_every_frame_in_that_order(
    tmp_path, field_order, bottom_first
):
    """FFV1 frames carry no interlacing flag: Matroska's FieldOrder decides, parity included."""
    source = write_interlaced(tmp_path / "in.mkv", "ffv1", field_order, bottom_first)
    raw = as_progressive(source)
    assert not any(frame.interlaced_frame for frame in raw)
    with VideoReader(source) as reader:
        frames = list(reader.frames())
        order = reader.field_order
        assert order == {TOP_FIRST: "tt", BOTTOM_FIRST: "bb", 4: "tb", 5: "bt"}[field_order]
        assert reader.notes == [
            f"in.mkv is interlaced: deinterlaced with bwdif in the stream's field order, {order}, "
            "one frame per frame, so the frame count and rate are unchanged"
        ]
    assert len(frames) == COUNT
    assert max(combing(frame) for frame in frames) < 0.5
    # The first field's instant, 2i: the wrong parity would show the other field's, 3 px further right.
    first_fields = [8 + 6 * index for index in range(COUNT)]
    assert [edge(frame) for frame in frames] == pytest.approx(first_fields, abs=0.5)


def test_progressive_video_is_read_as_it_is(tmp_path):
    path = tmp_path / "in.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(woven(index, False), format="rgb24").reformat(format="yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with VideoReader(path) as reader:
        frames = list(reader.frames())
        assert (reader.field_order, reader.notes) == (None, [])
    expected = [frame.to_ndarray(format="rgb24") for frame in as_progressive(path)]
    assert len(frames) == 3 and min(combing(frame) for frame in frames) > 8  # combed, as drawn
    assert all(
        np.abs(a.astype(int) - b.astype(int)).max() <= 2 for a, b in zip(frames, expected, strict=True)
    )


def test_interpolating_interlaced_video_writes_progressive_frames(tmp_path, weights):
    source = write_interlaced(tmp_path / "in.mp4", "libx264", TOP_FIRST)
    output = tmp_path / "out.mp4"
    arguments = ["interpolate", str(source), "-o", str(output), "--device", "cpu", "--quiet"]
    result = CliRunner().invoke(app, [*arguments, "--weights", str(weights)])
    assert result.exit_code == 0, result.output
    assert "note: in.mp4 is interlaced: deinterlaced with bwdif in each frame's field order" in result.output
    with VideoReader(output) as reader:
        frames = list(reader.frames())
        assert reader.field_order is None and reader.notes == []
    assert len(frames) == 2 * COUNT
    assert max(combing(frame) for frame in frames) < 0.5  # read as progressive: ~8.9 in every frame


@pytest.mark.parametrize(("width", "height", "deinterlaced"), [(4, 2, False), (2, 4, False), (3, 4, True)])
def test_frames_too_small_for_bwdif_are_read_as_progressive_with_one_note(
    tmp_path, width, height, deinterlaced
):
    path = tmp_path / "in.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        stream.codec_context.field_order = TOP_FIRST
        for index in range(3):
            rgb = np.full((height, width, 3), 50 * index, np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv444p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with VideoReader(path) as reader:
        frames = list(reader.frames())
        notes = reader.notes
    assert [int(frame[0, 0, 1]) for frame in frames] == pytest.approx([0, 50, 100], abs=1)
    assert len(notes) == 1
    if deinterlaced:
        assert "deinterlaced with bwdif" in notes[0]
    else:
        assert notes == [
            f"in.mkv is interlaced but only {width}×{height}, too small to deinterlace: read as progressive"
        ]
