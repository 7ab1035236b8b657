"""Video of more than 8 bits per sample keeps its depth (issue 28): uint16 frames from decode to encode.

Where the output keeps more than 8 bits (HEVC, AV1, ProRes, FFV1, PNG:
``sepgan.media.writer.frame_bits``), frames are read as 16-bit RGB, made in
float and written from 16 bits; the judges (scene cuts, the static check,
static borders, DIS's grey) give a uint16 frame, the 8-bit frame × 257, the
verdicts of its 8-bit frame. The clips are 64×48 smooth 10-bit patterns with
levels 8 bits cannot hold, six frames.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import torch

from sepgan.borders import static_borders
from sepgan.flow import dis_flow, estimate_flows, grey
from sepgan.media.colour import RANGE_PC, Colour, level_scale, round_to_8bit
from sepgan.media.frames import from_array, from_uint8, to_array
from sepgan.media.reader import VideoReader, to_rgb
from sepgan.media.scenes import scene_cuts, thumbnail
from sepgan.media.writer import frame_bits
from sepgan.options import DEFAULT_SCENE_THRESHOLD, DEFAULT_STATIC_TOLERANCE
from sepgan.retime import RetimeStats, _classify, _judged_pairs
from synthetic import moving_frames, pattern_10bit, run_interpolate_cli, ten_bit_clip

HEIGHT, WIDTH = 48, 64


def deep(frame: np.ndarray) -> np.ndarray:
    """The uint16 frame of the same picture as an 8-bit one (× 257: 255 → 65535)."""
    return frame.astype(np.uint16) * 257


def decoded_16(path: Path) -> tuple[str, list[np.ndarray]]:
    """The video's pixel format and its frames as uint16 RGB, as sepgan reads deep video."""
    with VideoReader(path) as reader:
        return reader.stream.codec_context.pix_fmt, list(reader.frames(bits=16))


def codes(frame: np.ndarray) -> np.ndarray:
    """uint16 RGB levels as 10-bit codes (the nearest of 0–1023)."""
    return np.rint(frame.astype(np.float64) * 1023 / 65535).astype(np.int64)


def levels(frame: np.ndarray) -> list[int]:
    """Distinct 10-bit codes of each channel."""
    return [len(np.unique(codes(frame)[..., channel])) for channel in range(3)]


def interpolate(*arguments: object) -> str:
    """The CLI with the default weights (a random tiny model makes flat frames: too few levels)."""
    result = run_interpolate_cli(*arguments)
    assert result.exit_code == 0, result.output
    return result.output


# ---------------------------------------------------------------------------- conversions


def test_uint16_frames_become_the_same_tensors_as_their_8bit_frames():
    frames = np.stack(moving_frames(2, HEIGHT, WIDTH))
    assert torch.equal(from_array(deep(frames)), from_uint8(frames))
    assert np.array_equal(to_array(from_uint8(frames), np.uint16), deep(frames))
    assert np.array_equal(round_to_8bit(deep(frames)), frames)
    nearly = deep(frames) + np.where(frames < 255, 128, 0).astype(np.uint16)  # 0.498 of a level up
    assert np.array_equal(round_to_8bit(nearly), frames)  # the nearest 8-bit level
    assert (level_scale(np.uint8), level_scale(np.uint16)) == (1, 257)
    made = to_array(torch.full((3, 2, 2), 0.5), np.uint16)
    assert made.dtype == np.uint16 and made.shape == (2, 2, 3) and int(made[0, 0, 0]) == 32768


def test_only_outputs_that_keep_the_depth_get_uint16_frames():
    ten = Colour(bits=10)
    assert {codec: frame_bits(codec, ten) for codec in ("hevc", "prores", "ffv1", "png", "h264")} == {
        "hevc": 16, "prores": 16, "ffv1": 16, "png": 16, "h264": 8,
    }  # fmt: skip
    assert frame_bits("hevc", Colour(bits=8)) == 8 and frame_bits("ffv1", None) == 8


def test_deep_yuv_420_decodes_to_16_bits_within_a_few_codes():
    # swscale's packed rgb48 output with full chroma interpolation garbles 4:2:0 (up to 624 codes off
    # here): the reader takes the planar output instead.
    rgb = (pattern_10bit(0).astype(np.uint32) * 65535 // 1023).astype(np.uint16)
    colour = Colour(matrix=1, bits=10)
    yuv = av.VideoFrame.from_ndarray(rgb, format="rgb48le").reformat(
        format="yuv420p10le", src_color_range=RANGE_PC, dst_color_range=colour.range, **colour.sws_arguments()
    )
    back = to_rgb(yuv, colour=colour, bits=16)
    assert back.dtype == np.uint16 and back.shape == (HEIGHT, WIDTH, 3)
    error = np.abs(codes(back) - pattern_10bit(0))
    assert error[:, 2:-2].max() <= 12 and error.mean() < 1.5  # 4:2:0 of colour, worst at the sides


# ---------------------------------------------------------------------------- the judges


def test_the_cut_rule_gives_uint16_frames_the_verdicts_of_their_8bit_frames():
    shot_a = moving_frames(6, 72, 96, shift=(0, 1), seed=1)
    shot_b = moving_frames(6, 72, 96, shift=(-1, 0), seed=2)
    frames = shot_a + shot_b
    assert all(np.array_equal(thumbnail(deep(frame)), thumbnail(frame)) for frame in frames)
    assert scene_cuts(thumbnail(deep(frame)) for frame in frames) == scene_cuts(map(thumbnail, frames)) == [5]


def test_the_static_check_scales_its_tolerance_to_uint16():
    frame = moving_frames(1, HEIGHT, WIDTH)[0]
    within, beyond = frame.copy(), frame.copy()
    within[0, 0, 0] ^= DEFAULT_STATIC_TOLERANCE  # a flip of the low bit: 1 level (tolerance 1)
    beyond[0, 0, 0] = (int(frame[0, 0, 0]) + 128) % 256
    for other, mode in ((within, "static"), (beyond, "interpolate")):
        assert _classify(frame, other, 0.0, False, DEFAULT_STATIC_TOLERANCE) == mode
        assert _classify(deep(frame), deep(other), 0.0, False, DEFAULT_STATIC_TOLERANCE) == mode
    # one 8-bit level is 257 uint16 levels: 300 is more than the tolerance, 200 within it
    nudged = deep(frame)
    nudged[0, 0, 0] = (
        min(int(nudged[0, 0, 0]) + 300, 65535) if frame[0, 0, 0] < 128 else nudged[0, 0, 0] - 300
    )
    assert _classify(deep(frame), nudged, 0.0, False, 1) == "interpolate"
    nudged[0, 0, 0] = deep(frame)[0, 0, 0] + (200 if frame[0, 0, 0] < 128 else -200)
    assert _classify(deep(frame), nudged, 0.0, False, 1) == "static"
    # the whole judging loop: a cut, static pairs and moving ones, alike at both depths
    frames = [*moving_frames(4, 72, 96, seed=1), *[moving_frames(1, 72, 96, seed=2)[0]] * 4]
    modes = [mode for *_, mode in _judged_pairs(frames, DEFAULT_SCENE_THRESHOLD, 1, RetimeStats(), "8")]
    deep_pairs = _judged_pairs(map(deep, frames), DEFAULT_SCENE_THRESHOLD, 1, RetimeStats(), "16")
    assert [mode for *_, mode in deep_pairs] == modes
    assert modes == ["interpolate"] * 3 + ["cut"] + ["static"] * 3


def test_static_borders_give_uint16_frames_the_verdict_of_their_8bit_frames():
    frames = moving_frames(2, 96, 128, shift=(0, 4), seed=1)
    for frame in frames:
        frame[:12], frame[-10:], frame[:, :6] = 16, 16, 16
    eight = static_borders(*(from_array(frame)[None] for frame in frames))
    assert eight and static_borders(*(from_array(deep(frame))[None] for frame in frames)) == eight


def test_dis_flow_of_uint16_frames_is_the_flow_of_their_8bit_frames():
    frame0, frame1 = moving_frames(2, HEIGHT, WIDTH, shift=(1, 2))
    assert np.array_equal(grey(deep(frame0)), grey(frame0))
    assert np.array_equal(dis_flow(deep(frame0), deep(frame1)), dis_flow(frame0, frame1))
    tensors8 = [from_array(frame)[None] for frame in (frame0, frame1)]
    tensors16 = [from_array(deep(frame))[None] for frame in (frame0, frame1)]
    assert torch.equal(estimate_flows(*tensors16), estimate_flows(*tensors8))


# ---------------------------------------------------------------------------- jobs


def test_ten_bit_ffv1_keeps_every_code_and_makes_frames_of_10_bits(tmp_path):
    source = ten_bit_clip(tmp_path / "in.mkv")
    output = tmp_path / "out.mkv"
    printed = interpolate(source, "-o", output, "--codec", "ffv1")
    assert "8 bits" not in printed and "bits per sample" not in printed
    _, frames_in = decoded_16(source)
    pix_fmt, frames_out = decoded_16(output)
    assert pix_fmt == "gbrp10le" and len(frames_out) == 12
    for index, frame in enumerate(frames_in):
        assert np.array_equal(codes(frame), pattern_10bit(index))  # the clip is what it says
        assert np.array_equal(frames_out[2 * index], frame)  # lossless: every input code kept
    assert min(levels(frames_in[0])) > 256
    for made in frames_out[1:-1:2]:  # the in-betweens: more levels than 8 bits hold, as the input has
        assert min(levels(made)) > 256


def test_ten_bit_into_prores_and_png_keeps_the_depth(tmp_path):
    # Grey, so that 4:2:2 loses no chroma; made in 8 bits, it would hold at most 220 luma codes of 10
    source = ten_bit_clip(tmp_path / "in.mkv", grey=True)
    interpolate(source, "-o", tmp_path / "out.mov", "--codec", "prores")
    _, frames_in = decoded_16(source)
    pix_fmt, frames_out = decoded_16(tmp_path / "out.mov")
    assert pix_fmt == "yuv422p10le"
    for index, frame in enumerate(frames_in):  # ProRes is lossy: within a code or two of the input's
        error = np.abs(codes(frames_out[2 * index]) - codes(frame))
        assert error.mean() < 1 and error.max() <= 2, (index, error.mean(), error.max())
    assert min(levels(frames_in[0])) > 256
    assert all(min(levels(made)) > 256 for made in frames_out[1:-1:2])
    interpolate(source, "-o", tmp_path / "frames", "--codec", "png")
    files = sorted((tmp_path / "frames").iterdir())
    assert len(files) == 12  # ×2 of 6 frames, the last held
    with av.open(str(files[2])) as container:
        picture = next(container.decode(video=0))
        assert picture.format.name == "rgb48be"
        assert np.array_equal(picture.to_ndarray(format="rgb48le"), frames_in[1])
