#!/usr/bin/env python
"""Hostile corpus: `sepgan interpolate` on 70+ small hostile and real-world inputs, one table out.

Every case builds its input in a temporary folder (PyAV, Pillow, NumPy, and
the ``ffmpeg`` command for rotation, aspect, stream tags and interlacing; cases
that need it are skipped without it), runs ``python -m sepgan interpolate`` on
it in a fresh process, as a user would, with the bundled default model, and
checks what issue 13 asks for: the right value for inputs sepgan supports, one
``error:`` line and exit code 2 for those it refuses, a ``note:`` where it
changes something, the input never touched. The table lists: case, exit code,
first line of stderr (or of stdout when stderr is empty), what was checked,
pass/fail. Inputs are tiny (≤ 1280×720, a few frames), so the whole run takes
a few minutes on 2 CPU cores.

    python scripts/hostile-corpus.py               # every case, 2 at a time
    python scripts/hostile-corpus.py -k rotation   # cases whose name contains "rotation"
    python scripts/hostile-corpus.py --keep /tmp/corpus   # keep the inputs and outputs

Exit status: 0 when every case passes, 1 otherwise. tests/test_hostile_corpus.py runs
every case as a ``slow`` test, so CI runs the corpus.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    folder: Path
    seconds: float = 0.0

    @property
    def first_line(self) -> str:
        lines = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return lines[0] if lines else ""


@dataclass
class Case:
    name: str
    checked: str
    build: Callable[[Path], tuple[list[str], Callable[[Run], bool]]]
    needs_ffmpeg: bool = False
    result: Run | None = None
    passed: bool | None = None
    problem: str = ""
    inputs: dict[Path, str] = field(default_factory=dict)


CASES: list[Case] = []


def case(name: str, checked: str, *, needs_ffmpeg: bool = False):
    def register(build):
        CASES.append(Case(name, checked, build, needs_ffmpeg))
        return build

    return register


# ---------------------------------------------------------------------------- inputs


def texture(height: int, width: int, t: float = 0.0, seed: int = 0) -> np.ndarray:
    """H×W×3 uint8 smooth colour pattern moving right by 2 px per unit of ``t``."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(seed)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.15, 0.45), rng.uniform(0.1, 0.4), rng.uniform(0, 6.3)
        channels.append(128 + 90 * np.sin((x - 2 * t) * fx + phase) * np.cos(y * fy + phase))
    return np.clip(np.stack(channels, axis=-1), 0, 255).round().astype(np.uint8)


def moving(count: int, height: int, width: int, seed: int = 0) -> list[np.ndarray]:
    return [texture(height, width, t, seed) for t in range(count)]


def patches(height: int, width: int) -> np.ndarray:
    """Four flat vertical bands: red, green, blue, grey (issue 13's colour values)."""
    frame = np.empty((height, width, 3), np.uint8)
    for index, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200), (128, 128, 128)]):
        frame[:, index * width // 4 : (index + 1) * width // 4] = colour
    return frame


def write_clip(
    path: Path,
    frames: list[np.ndarray],
    fps: Fraction = Fraction(24),
    *,
    codec: str = "ffv1",
    pix_fmt: str | None = None,
    tags: dict[str, int] | None = None,
    matrix: str | None = None,
    colour_range: int | None = None,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    container_format: str | None = None,
    container_options: dict[str, str] | None = None,
    tone_seconds: float | None = None,
) -> Path:
    """Encode RGB frames; ``matrix``/``colour_range`` convert to YUV with that matrix (swscale's name)."""
    pix_fmt = pix_fmt or ("bgr0" if codec == "ffv1" else "yuv420p")
    with av.open(str(path), "w", format=container_format, options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        if time_base is not None:
            stream.time_base = time_base
        if codec in ("libx264", "libx265"):
            stream.options = {
                "crf": "12",
                **({"x265-params": "log-level=error"} if codec == "libx265" else {}),
            }
        for name, value in (tags or {}).items():
            setattr(stream.codec_context, name, value)
        audio = container.add_stream("aac", rate=48000, layout="mono") if tone_seconds else None
        for index, frame in enumerate(frames):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if matrix is not None:
                video_frame = video_frame.reformat(
                    format=pix_fmt, dst_colorspace=matrix, dst_color_range=colour_range or 1
                )
            video_frame.pts = pts[index] if pts is not None else index
            if time_base is not None:
                video_frame.time_base = time_base
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode(None))
        if audio is not None:
            samples = int(48000 * tone_seconds)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(
                    tone[None, start : start + 1024], format="fltp", layout="mono"
                )
                chunk.sample_rate, chunk.pts = 48000, start
                container.mux(audio.encode(chunk))
            container.mux(audio.encode(None))
    return path


def save_pair(folder: Path, frames: list[np.ndarray], suffix: str = ".png", **options) -> list[str]:
    paths = []
    for index, frame in enumerate(frames[:2]):
        path = folder / f"frame{index}{suffix}"
        Image.fromarray(frame).save(path, **options)
        paths.append(path.name)
    return paths


def ffmpeg(folder: Path, *arguments: str) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", *arguments], cwd=folder, check=True, capture_output=True,
                   stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip


def probe(path: Path) -> dict:
    """ffprobe's streams (with side data) as JSON, or {} without ffprobe."""
    if FFPROBE is None:
        return {}
    output = subprocess.run(
        [FFPROBE, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return json.loads(output)


def rotation_of(path: Path) -> int:
    """Display rotation of the first video stream in degrees (0 when none), from ffprobe."""
    stream = next(s for s in probe(path)["streams"] if s["codec_type"] == "video")
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(side["rotation"]) % 360
    return int(stream.get("tags", {}).get("rotate", 0)) % 360


def decode_timed(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as container:
        return [(frame.time, frame.to_ndarray(format="rgb24")) for frame in container.decode(video=0)]


def decode(path: Path) -> list[np.ndarray]:
    from sepgan.media.reader import VideoReader

    with VideoReader(path) as reader:
        return list(reader.frames())


# ---------------------------------------------------------------------------- checks


def refused(*words: str) -> Callable[[Run], bool]:
    """Exit 2 with exactly one ``error:`` line on stderr that contains every word, nothing written."""

    def check(run: Run) -> bool:
        lines = run.stderr.strip().splitlines()
        written = [p for p in run.folder.rglob("*") if p.name.startswith(("out", ".out"))]
        return (run.code == 2 and len(lines) == 1 and lines[0].startswith("error:")
                and all(word in lines[0] for word in words) and not written)  # fmt: skip

    return check


def succeeded(
    test: Callable[[Run], bool] = lambda run: True, *, note: str | None = None
) -> Callable[[Run], bool]:
    """Exit 0, no traceback, ``test`` holds (and a ``note:`` containing ``note`` when given)."""

    def check(run: Run) -> bool:
        if run.code != 0 or "Traceback" in run.stderr:
            return False
        if note is not None and not any(
            line.startswith("note:") and note in line for line in run.stderr.splitlines()
        ):
            return False
        return bool(test(run))

    return check


def bad_option(*options: str, flag: str) -> Callable[[Path], tuple[list[str], Callable[[Run], bool]]]:
    def build(folder: Path):
        write_clip(folder / "in.mkv", moving(3, 16, 16))
        return ["in.mkv", "-o", "out.mkv", *options], refused(flag)

    return build


def same_colours(folder: Path, tolerance: int = 2) -> bool:
    """The first output frame (a pass-through) decodes within ``tolerance`` of the input's first frame,
    inside each band, and the red band is within 4 levels of (200, 30, 30)."""
    source, output = (
        decode(next(folder.glob("in.*")))[0].astype(int),
        decode(folder / "out.mp4")[0].astype(int),
    )
    height, width = source.shape[:2]
    bands = [(slice(height // 4, 3 * height // 4),
              slice(i * width // 4 + width // 16, (i + 1) * width // 4 - width // 16))
             for i in range(4)]  # fmt: skip
    close = all(int(np.abs(output[band] - source[band]).max()) <= tolerance for band in bands)
    return close and int(np.abs(output[bands[0]] - np.array([200, 30, 30])).max()) <= 4


# ---------------------------------------------------------------------------- 1. colour and pixel format


@case("bt709-hd", "1280×720 tagged BT.709 tv: output tagged bt709, pass-through within 2 levels of the input")
def _(folder):
    write_clip(folder / "in.mp4", [patches(720, 1280)] * 3, codec="libx264", matrix="ITU709", colour_range=1,
               tags={"colorspace": 1, "color_primaries": 1, "color_trc": 1, "color_range": 1})  # fmt: skip

    def test(run):
        with av.open(str(folder / "out.mp4")) as container:
            tagged = container.streams.video[0].codec_context.colorspace == 1
        return tagged and same_colours(folder)

    return ["in.mp4", "-o", "out.mp4"], succeeded(test)


@case("untagged-hd", "untagged 1280×720 (players assume BT.709): pass-through within 2 levels")
def _(folder):
    write_clip(folder / "in.mp4", [patches(720, 1280)] * 3, codec="libx264", matrix="ITU709", colour_range=1)
    return ["in.mp4", "-o", "out.mp4"], succeeded(lambda run: same_colours(folder))


@case("bt601-sd", "640×480 tagged BT.601: pass-through within 2 levels")
def _(folder):
    write_clip(folder / "in.mp4", [patches(480, 640)] * 3, codec="libx264", matrix="ITU601", colour_range=1,
               tags={"colorspace": 6, "color_primaries": 6, "color_trc": 6, "color_range": 1})  # fmt: skip
    return ["in.mp4", "-o", "out.mp4"], succeeded(lambda run: same_colours(folder))


@case("full-range-yuvj", "yuvj420p (full range) H.264: pass-through within 2 levels")
def _(folder):
    write_clip(folder / "in.mp4", [patches(48, 64)] * 3, codec="libx264", pix_fmt="yuvj420p", matrix="ITU601",
               colour_range=2)  # fmt: skip
    return ["in.mp4", "-o", "out.mp4"], succeeded(lambda run: same_colours(folder))


@case("hdr-pq", "10-bit BT.2020 PQ: refused with one error line (HDR)")
def _(folder):
    write_clip(folder / "in.mkv", [patches(48, 64)] * 2, pix_fmt="yuv420p10le", matrix="BT2020",
               tags={"colorspace": 9, "color_primaries": 9, "color_trc": 16, "color_range": 1})  # fmt: skip
    return ["in.mkv", "-o", "out.mp4"], refused("HDR", "PQ")


@case("hdr-hlg", "10-bit BT.2020 HLG: refused with one error line (HDR)")
def _(folder):
    write_clip(folder / "in.mkv", [patches(48, 64)] * 2, pix_fmt="yuv420p10le", matrix="BT2020",
               tags={"colorspace": 9, "color_primaries": 9, "color_trc": 18, "color_range": 1})  # fmt: skip
    return ["in.mkv", "-o", "out.mp4"], refused("HDR", "HLG")


@case("10-bit-sdr", "10-bit SDR: written, with a note on the bit depth")
def _(folder):
    write_clip(folder / "in.mkv", [patches(48, 64)] * 2, pix_fmt="yuv420p10le", matrix="ITU709",
               tags={"colorspace": 1, "color_primaries": 1, "color_trc": 1, "color_range": 1})  # fmt: skip
    return ["in.mkv", "-o", "out.mp4"], succeeded(note="10 bits per sample are cut to 8")


def _alpha(folder: Path, name: str, codec: str, pix_fmt: str) -> None:
    frame = np.zeros((48, 64, 4), np.uint8)
    frame[..., 0], frame[:, 32:, 3] = 200, 255
    with av.open(str(folder / name), "w") as container:
        stream = container.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
        for index in range(2):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgba")
            video_frame.pts = index
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode(None))


@case("alpha-qtrle", "qtrle ARGB .mov: refused like an RGBA image")
def _(folder):
    _alpha(folder, "in.mov", "qtrle", "argb")
    return ["in.mov", "-o", "out.mp4"], refused("alpha")


@case("alpha-vp9", "VP9 with alpha (WebM alpha_mode): refused like an RGBA image")
def _(folder):
    _alpha(folder, "in.webm", "libvpx-vp9", "yuva420p")
    return ["in.webm", "-o", "out.mp4"], refused("alpha")


@case("interlaced", "interlaced H.264 (tff): deinterlaced with a note, or refused", needs_ffmpeg=True)
def _(folder):
    ffmpeg(folder, "-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-frames:v", "4",
           "-flags", "+ilme+ildct", "-top", "1", "-field_order", "tt", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "in.mp4")  # fmt: skip

    def check(run):
        if run.code == 2:
            return refused("interlaced")(run)
        return succeeded(note="interlac")(run) or succeeded(note="deinterlac")(run)

    return ["in.mp4", "-o", "out.mp4"], check


# ---------------------------------------------------------------------------- 2. geometry and metadata


def _rotated(angle: int):
    def build(folder):
        write_clip(folder / "base.mp4", moving(3, 48, 64), codec="libx264")
        ffmpeg(folder, "-i", "base.mp4", "-c", "copy", "-metadata:s:v:0", f"rotate={angle}", "in.mp4")
        (folder / "base.mp4").unlink()
        wanted = rotation_of(folder / "in.mp4")

        def test(run):
            output = folder / "out.mp4"
            kept = rotation_of(output) == wanted
            with av.open(str(output)) as container:
                stream = container.streams.video[0]
                turned = (stream.width, stream.height) == ((48, 64) if angle in (90, 270) else (64, 48))
            return kept or (turned and rotation_of(output) == 0 and angle in (90, 270))

        return ["in.mp4", "-o", "out.mp4"], succeeded(test)

    return build


for _angle in (90, 180, 270):
    case(f"rotation-{_angle}", f"display matrix {_angle}°: kept, or the frames turned", needs_ffmpeg=True)(
        _rotated(_angle)
    )


@case("sar-4:3", "sample aspect ratio 4:3: kept in the output", needs_ffmpeg=True)
def _(folder):
    write_clip(folder / "base.mp4", moving(3, 48, 64), codec="libx264")
    ffmpeg(
        folder, "-i", "base.mp4", "-c", "copy", "-bsf:v", "h264_metadata=sample_aspect_ratio=4/3", "in.mp4"
    )

    def test(run):
        stream = next(s for s in probe(folder / "out.mp4")["streams"] if s["codec_type"] == "video")
        return stream.get("sample_aspect_ratio") == "4:3"

    return ["in.mp4", "-o", "out.mp4"], succeeded(test)


@case("stream-tags", "audio language=jpn title=commentary, subtitle language=fra: copied", needs_ffmpeg=True)
def _(folder):
    write_clip(folder / "base.mkv", moving(4, 32, 48))
    (folder / "subs.srt").write_text("1\n00:00:00,000 --> 00:00:00,100\nhello\n")
    ffmpeg(folder, "-i", "base.mkv", "-f", "lavfi", "-i", "sine=duration=0.17", "-i", "subs.srt",
           "-map", "0", "-map", "1", "-map", "2", "-c:v", "copy", "-c:a", "flac", "-c:s", "srt",
           "-metadata:s:a:0", "language=jpn", "-metadata:s:a:0", "title=commentary",
           "-metadata:s:s:0", "language=fra", "in.mkv")  # fmt: skip

    def test(run):
        streams = probe(folder / "out.mkv")["streams"]
        audio = next(s for s in streams if s["codec_type"] == "audio").get("tags", {})
        subtitle = next((s for s in streams if s["codec_type"] == "subtitle"), {}).get("tags", {})
        return (audio.get("language"), audio.get("title"), subtitle.get("language")) == (
            "jpn",
            "commentary",
            "fra",
        )

    return ["in.mkv", "-o", "out.mkv"], succeeded(test)


@case("exif-orientation-6", "JPEG pair stored 64×48 with EXIF orientation 6: middle is 48×64 as viewers show")
def _(folder):
    exif = Image.Exif()
    exif[0x0112] = 6
    names = save_pair(folder, moving(2, 48, 64), ".jpg", exif=exif, quality=95)
    return [*names, "-o", "out.png"], succeeded(lambda run: Image.open(folder / "out.png").size == (48, 64))


# ---------------------------------------------------------------------------- 3. timing


@case("vfr-stall", "30 fps with a 0.4 s stall: the frame shown at 1.3 s in the input is at 1.3 s ± 1/60 s")
def _(folder):
    times = [k / 30 + (0.4 if k >= 15 else 0) for k in range(30)]
    frames = [np.full((16, 16, 3), 20 + 6 * k, np.uint8) for k in range(30)]
    write_clip(folder / "in.mkv", frames, Fraction(30), pts=[round(t * 1000) for t in times],
               time_base=Fraction(1, 1000))  # fmt: skip

    def test(run):
        output = decode_timed(folder / "out.mkv")
        shown = [t for t, frame in output if int(np.abs(frame.astype(int) - frames[27]).max()) <= 1]
        return bool(shown) and abs(shown[0] - times[27]) <= 1 / 60

    return ["in.mkv", "-o", "out.mkv", "--codec", "ffv1"], succeeded(test)


@case("raw-h264", "raw .h264 elementary stream at 30 fps: read at 30 (→ 60)")
def _(folder):
    write_clip(folder / "in.h264", moving(6, 48, 64), Fraction(30), codec="libx264", container_format="h264")
    return ["in.h264", "-o", "out.mp4"], succeeded(lambda run: "30 → 60 fps" in run.stdout)


@case("raw-hevc", "raw .hevc elementary stream at 30 fps: read at 30 (→ 60)")
def _(folder):
    write_clip(folder / "in.hevc", moving(6, 48, 64), Fraction(30), codec="libx265", container_format="hevc")
    return ["in.hevc", "-o", "out.mp4"], succeeded(lambda run: "30 → 60 fps" in run.stdout)


def _fade(length: int):
    def build(folder):
        base = texture(32, 48, 0, seed=4)
        frames = [base] * 2 + [
            (base * (1 - (k + 1) / (length + 1))).round().astype(np.uint8) for k in range(length)
        ]
        frames += [np.zeros_like(base)] * 2
        write_clip(folder / "in.mkv", frames)
        return ["in.mkv", "-o", "out.mkv", "--codec", "ffv1"], succeeded(
            lambda run: " 0 scene cuts" in run.stdout
        )

    return build


for _length in (2, 4, 8):
    case(f"fade-{_length}", f"a {_length}-frame fade to black: no scene cut")(_fade(_length))


@case("hard-cut", "two different shots of 6 frames: 1 scene cut, the cut frames repeated")
def _(folder):
    # 6 frames a shot: the cut rule compares a change with its neighbours' (media/scenes.py), and a
    # clip too short for them needs a change 3× the level (a 2-frame pan is no cut)
    # a shot ~85 grey levels darker: an inverted texture keeps its mean, which the thumbnails compare
    write_clip(folder / "in.mkv", moving(6, 32, 48, seed=1) + [f // 3 for f in moving(6, 32, 48, seed=2)])
    return ["in.mkv", "-o", "out.mkv"], succeeded(lambda run: " 1 scene cuts" in run.stdout)


@case("mpegts-start", "MPEG-TS starting at 1.4 s: the MP4 starts at 0 and lasts as long as the video")
def _(folder):
    write_clip(folder / "in.ts", moving(6, 48, 64), Fraction(30), codec="libx264", container_format="mpegts")

    def test(run):
        with av.open(str(folder / "out.mp4")) as container:
            stream = container.streams.video[0]
            start = float((stream.start_time or 0) * stream.time_base)
            duration = (container.duration or 0) / av.time_base
        return abs(start) < 0.01 and abs(duration - 6 / 30) < 0.02

    return ["in.ts", "-o", "out.mp4"], succeeded(test)


@case("ntsc-rate", "30000/1001 ×2: exactly 60000/1001")
def _(folder):
    write_clip(folder / "in.mp4", moving(4, 32, 32), Fraction(30000, 1001), codec="libx264")
    return ["in.mp4", "-o", "out.mp4"], succeeded(lambda run: "→ 60000/1001 (59.94) fps" in run.stdout)


@case("audio-kept", "video with an AAC track ×2: audio copied, same length")
def _(folder):
    write_clip(folder / "in.mkv", moving(8, 32, 48), tone_seconds=8 / 24)

    def test(run):
        with av.open(str(folder / "out.mp4")) as container:
            return (
                len(container.streams.audio) == 1 and abs(container.duration / av.time_base - 8 / 24) < 0.05
            )

    return ["in.mkv", "-o", "out.mp4"], succeeded(test)


# ------------------------------------------------------------------------- 4. crash, mislead, touch the input


def _tiny_pair(width: int, height: int):
    def build(folder):
        names = save_pair(folder, moving(2, height, width, seed=5))
        return [*names, "-o", "out.png"], succeeded(
            lambda run: Image.open(folder / "out.png").size == (width, height)
        )

    return build


for _w, _h in [(1, 1), (2, 2), (11, 11), (40, 3)]:
    case(f"tiny-pair-{_w}x{_h}", f"{_w}×{_h} image pair: a {_w}×{_h} middle frame, no traceback")(
        _tiny_pair(_w, _h)
    )


@case("tiny-video-8x8", "8×8 video with motion ×2: 6 frames of 8×8")
def _(folder):
    write_clip(folder / "in.mkv", moving(3, 8, 8))

    def test(run):
        frames = decode(folder / "out.mkv")
        return len(frames) == 6 and frames[0].shape == (8, 8, 3)

    return ["in.mkv", "-o", "out.mkv"], succeeded(test)


for _options, _flag in [
    (("--max-depth", "-1", "--fps", "60"), "--max-depth"),
    (("--factor", "0"), "--factor"),
    (("--factor", "1"), "--factor"),  # ×3 is fine for the default model (any time), ×1 is no retiming
    (("--fps", "1e9"), "'1e9'"),  # out of range: the message quotes the rate as typed
    (("--fps", "500"), "--allow-high-fps"),
    (("--crf", "99"), "--crf"),
    (("--crf", "-1"), "--crf"),
    (("--max-memory-mb", "0"), "--max-memory-mb"),
    (("--scene-threshold", "256"), "--scene-threshold"),
    (("--batch", "0"), "--batch"),
    (("--tile-overlap", "-1"), "--tile-overlap"),
    (("--flow-variants", "5"), "--flow-variants"),
]:
    case(f"option {' '.join(_options)}", f"one error line with {_flag}, exit 2, nothing written")(
        bad_option(*_options, flag=_flag)
    )


for _options, _word in [
    (("--fps=1e400",), "'1e400'"),  # issue 29: an OverflowError
    (("--fps", "1e-9"), "'1e-9'"),  # issue 29: shown as 0
    (("--factor", "inf"), "--factor"),  # the parser's refusal is one line too
    (("--max-memory-mb", "1e400"), "--max-memory-mb"),
    (("--segment-seconds", "nan"), "--segment-seconds"),
    (("--jobs", "99999999999999999999999"), "--jobs"),
]:
    case(f"option {' '.join(_options)}", f"one error line with {_word}, exit 2, nothing written")(
        bad_option(*_options, flag=_word)
    )


@case("output-fifo", "-o onto a FIFO (as onto a device node): one error line, the FIFO left alone")
def _(folder):
    write_clip(folder / "in.mkv", moving(2, 16, 16))
    os.mkfifo(folder / "null.mp4")

    def check(run):
        return refused("not a regular file")(run) and stat.S_ISFIFO((folder / "null.mp4").lstat().st_mode)

    return ["in.mkv", "-o", "null.mp4"], check


@case("gif-middle", "a pair to mid.gif: written, with a note that colour is reduced to 256")
def _(folder):
    names = save_pair(folder, moving(2, 16, 16))
    return [*names, "-o", "out.gif"], succeeded(note="256 colours")


@case("icc-pair", "a PNG pair with an ICC profile (not sRGB): the middle PNG keeps the profile")
def _(folder):
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    names = save_pair(folder, moving(2, 16, 16), icc_profile=profile)
    return [*names, "-o", "out.png"], succeeded(
        lambda run: Image.open(folder / "out.png").info.get("icc_profile") == profile
    )


@case("stale-temporary", "a temporary left by a killed run (dead pid) is removed by the next run")
def _(folder):
    write_clip(folder / "in.mkv", moving(2, 16, 16))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs, as after SIGKILL
    (folder / f".out.mkv.sepgan-tmp-{dead.pid}-0badc0de.mkv").write_bytes(b"half a video")
    return ["in.mkv", "-o", "out.mkv"], succeeded(
        lambda run: sorted(p.name for p in folder.iterdir()) == ["in.mkv", "out.mkv"]
    )


@case("animated-gif", "animated GIF: 'animated GIF: convert it to a video first'")
def _(folder):
    images = [Image.fromarray(frame) for frame in moving(4, 32, 48)]
    images[0].save(folder / "in.gif", save_all=True, append_images=images[1:], duration=100, loop=0)
    return ["in.gif", "-o", "out.mp4"], refused("animated GIF", "convert it to a video first")


@case("output-inside-input", "-o frames/out: refused like output == input, the folder untouched")
def _(folder):
    (folder / "frames").mkdir()
    for index, frame in enumerate(moving(3, 16, 16)):
        Image.fromarray(frame).save(folder / "frames" / f"{index}.png")

    def check(run):
        return refused("inside the input folder")(run) and sorted(os.listdir(folder / "frames")) == [
            "0.png", "1.png", "2.png"]  # fmt: skip

    return ["frames", "-o", "frames/out"], check


@case(
    "truncated-faststart-mp4", "faststart MP4 cut after 20 of 24 frames: exit 0 and 'note: input ends early'"
)
def _(folder):
    write_clip(
        folder / "whole.mp4",
        moving(24, 48, 64),
        codec="libx264",
        container_options={"movflags": "+faststart"},
    )
    with av.open(str(folder / "whole.mp4")) as container:
        offsets = sorted(packet.pos for packet in container.demux(video=0) if packet.size)
    (folder / "in.mp4").write_bytes((folder / "whole.mp4").read_bytes()[: offsets[20]])
    (folder / "whole.mp4").unlink()
    return ["in.mp4", "-o", "out.mp4"], succeeded(note="input ends early (decoding stopped at frame 20")


@case("truncated-mkv", "Matroska cut in half: exit 0 and 'note: input ends early'")
def _(folder):
    write_clip(folder / "whole.mkv", moving(24, 32, 48))
    (folder / "in.mkv").write_bytes(
        (folder / "whole.mkv").read_bytes()[: (folder / "whole.mkv").stat().st_size // 2]
    )
    (folder / "whole.mkv").unlink()
    return ["in.mkv", "-o", "out.mkv"], succeeded(note="input ends early")


@case("truncated-mp4-no-index", "MP4 cut to a third (index at the end, lost): one error line")
def _(folder):
    write_clip(folder / "whole.mp4", moving(24, 48, 64), codec="libx264")
    (folder / "in.mp4").write_bytes(
        (folder / "whole.mp4").read_bytes()[: (folder / "whole.mp4").stat().st_size // 3]
    )
    (folder / "whole.mp4").unlink()
    return ["in.mp4", "-o", "out.mp4"], refused("in.mp4")


@case("corrupt-bytes", "random bytes named .mp4: one error line")
def _(folder):
    (folder / "in.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return ["in.mp4", "-o", "out.mp4"], refused("in.mp4")


@case("text-as-video", "a text file named .mkv: one error line")
def _(folder):
    (folder / "in.mkv").write_text("not a video\n")
    return ["in.mkv", "-o", "out.mkv"], refused("in.mkv")


@case("corrupt-png-in-folder", "a frame folder with a truncated PNG: one error line naming it")
def _(folder):
    (folder / "frames").mkdir()
    for index, frame in enumerate(moving(3, 16, 16)):
        Image.fromarray(frame).save(folder / "frames" / f"{index}.png")
    path = folder / "frames" / "1.png"
    path.write_bytes(path.read_bytes()[:60])
    return ["frames", "-o", "out"], refused("1.png")


@case("empty-folder", "an empty folder: one error line")
def _(folder):
    (folder / "frames").mkdir()
    return ["frames", "-o", "out"], refused("0 image file")


@case("one-frame-folder", "a folder with one frame: one error line")
def _(folder):
    (folder / "frames").mkdir()
    Image.fromarray(texture(16, 16)).save(folder / "frames" / "0.png")
    return ["frames", "-o", "out"], refused("1 image file")


@case("one-frame-video", "a one-frame video: one error line")
def _(folder):
    write_clip(folder / "in.mkv", moving(1, 16, 16))
    return ["in.mkv", "-o", "out.mp4"], refused("1 frame")


@case("zero-frame-video", "a header-only video: one error line")
def _(folder):
    with av.open(str(folder / "in.mkv"), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "bgr0"
        container.start_encoding()
    return ["in.mkv", "-o", "out.mp4"], refused("in.mkv")


@case("mismatched-pair", "a 16×16 and a 24×16 image: one error line")
def _(folder):
    Image.fromarray(texture(16, 16)).save(folder / "a.png")
    Image.fromarray(texture(16, 24)).save(folder / "b.png")
    return ["a.png", "b.png", "-o", "out.png"], refused("same size")


@case("grayscale-pair", "grayscale PNGs: one error line")
def _(folder):
    names = save_pair(folder, [frame[..., 0] for frame in moving(2, 16, 16)])
    return [*names, "-o", "out.png"], refused("grayscale")


@case("rgba-pair", "RGBA PNGs: one error line")
def _(folder):
    names = save_pair(folder, [np.dstack([frame, frame[..., :1]]) for frame in moving(2, 16, 16)])
    return [*names, "-o", "out.png"], refused("alpha")


@case("16-bit-pair", "16-bit RGB PNGs: one error line")
def _(folder):
    for index, frame in enumerate(moving(2, 16, 16)):
        deep = av.VideoFrame.from_ndarray(frame.astype(">u2") * 257, format="rgb48be")
        with av.open(str(folder / f"frame{index}.png"), "w", format="image2") as container:
            stream = container.add_stream("png", rate=1)
            stream.width, stream.height, stream.pix_fmt = 16, 16, "rgb48be"
            container.mux(stream.encode(deep))
            container.mux(stream.encode(None))
    return ["frame0.png", "frame1.png", "-o", "out.png"], refused("16 bits")


@case("palette-pair", "palette PNGs (no transparency): the middle frame")
def _(folder):
    names = []
    for index, frame in enumerate(moving(2, 16, 16)):
        Image.fromarray(frame).convert("P").save(folder / f"p{index}.png")
        names.append(f"p{index}.png")
    return [*names, "-o", "out.png"], succeeded(lambda run: Image.open(folder / "out.png").size == (16, 16))


@case("jpeg-pair", "JPEG pair, JPEG out: the middle frame")
def _(folder):
    names = save_pair(folder, moving(2, 32, 48), ".jpg", quality=95)
    return [*names, "-o", "out.jpg"], succeeded(lambda run: Image.open(folder / "out.jpg").size == (48, 32))


@case("output-is-input", "-o the input: one error line, input untouched")
def _(folder):
    write_clip(folder / "in.mkv", moving(2, 16, 16))
    return ["in.mkv", "-o", "in.mkv"], refused("is the input")


@case("missing-input", "a missing file: one error line")
def _(folder):
    return ["nothere.mp4", "-o", "out.mp4"], refused("no such file")


@case("missing-output-folder", "-o into a folder that does not exist: one error line")
def _(folder):
    write_clip(folder / "in.mkv", moving(2, 16, 16))
    return ["in.mkv", "-o", "no/out.mp4"], refused("does not exist")


@case("fps-on-a-folder", "--fps for a frame folder (no frame rate): one error line")
def _(folder):
    (folder / "frames").mkdir()
    for index, frame in enumerate(moving(2, 16, 16)):
        Image.fromarray(frame).save(folder / "frames" / f"{index}.png")
    return ["frames", "-o", "out", "--fps", "60"], refused("--fps")


@case("three-inputs", "three images: one error line")
def _(folder):
    names = save_pair(folder, moving(2, 16, 16))
    return [*names, names[0], "-o", "out.png"], refused("3 inputs")


@case("odd-size-video", "23×41 video ×2 into H.264: size kept exactly")
def _(folder):
    write_clip(folder / "in.mkv", moving(3, 23, 41))

    def test(run):
        with av.open(str(folder / "out.mp4")) as container:
            stream = container.streams.video[0]
            return (stream.width, stream.height, stream.frames) == (41, 23, 6)

    return ["in.mkv", "-o", "out.mp4"], succeeded(test)


@case("frame-folder-x4", "5 frames ×4: 17 PNG frames, the first one the input's")
def _(folder):
    frames = moving(5, 24, 32)
    (folder / "frames").mkdir()
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / "frames" / f"f{index}.png")

    def test(run):
        names = sorted(os.listdir(folder / "out"))
        return len(names) == 17 and np.array_equal(
            np.asarray(Image.open(folder / "out" / names[0])), frames[0]
        )

    return ["frames", "-o", "out", "--factor", "4"], succeeded(test)


@case("unicode-name", "file names with spaces and non-ASCII: written")
def _(folder):
    write_clip(folder / "clip ä 映像.mkv", moving(3, 16, 16))
    return ["clip ä 映像.mkv", "-o", "out ü.mp4"], succeeded(lambda run: (folder / "out ü.mp4").is_file())


@case("static-video", "a still video: passes through without the network")
def _(folder):
    write_clip(folder / "in.mkv", [texture(16, 16)] * 4)
    return ["in.mkv", "-o", "out.mkv"], succeeded(lambda run: "0 interpolated" in run.stdout)


# ---------------------------------------------------------------------------- running


def _digests(folder: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def run_case(item: Case, root: Path) -> None:
    folder = root / item.name.replace(" ", "_").replace("/", "_")
    folder.mkdir(parents=True)
    if item.needs_ffmpeg and FFMPEG is None:
        item.problem = "skipped: needs the ffmpeg command"
        return
    try:
        arguments, check = item.build(folder)
    except Exception as error:  # noqa: BLE001 - a case whose input cannot be built is reported, not fatal
        item.problem = f"input not built: {type(error).__name__}: {error}"
        item.passed = False
        return
    inputs = {p: d for p, d in _digests(folder).items() if not p.name.startswith(".")}
    command = [sys.executable, "-m", "sepgan", "interpolate", *arguments, "--quiet"]
    started = time.perf_counter()
    process = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600,
                             stdin=subprocess.DEVNULL, check=False)  # fmt: skip
    item.result = Run(
        process.returncode, process.stdout, process.stderr, folder, time.perf_counter() - started
    )
    try:
        item.passed = bool(check(item.result))
    except Exception as error:  # noqa: BLE001 - a failed check is a fail, with its reason
        item.passed, item.problem = False, f"check raised {type(error).__name__}: {error}"
    changed = [
        p.name
        for p, d in inputs.items()
        if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() != d
    ]
    if changed:
        item.passed, item.problem = False, f"input changed: {', '.join(changed)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="pattern", default="", help="only cases whose name contains this")
    parser.add_argument("--workers", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--keep", type=Path, help="build and keep the cases in this new folder")
    arguments = parser.parse_args()
    cases = [item for item in CASES if arguments.pattern in item.name]
    root = arguments.keep or Path(tempfile.mkdtemp(prefix="sepgan-hostile-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=max(1, arguments.workers)) as pool:
            list(pool.map(lambda item: run_case(item, root), cases))
    finally:
        if arguments.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    width = max(len(item.name) for item in cases)
    print(f"{'case':<{width}}  exit  {'pass':<4}  {'time':>5}  first line / what was checked")
    for item in cases:
        verdict = "skip" if item.passed is None else ("pass" if item.passed else "FAIL")
        code = "-" if item.result is None else str(item.result.code)
        seconds = f"{item.result.seconds:4.1f}s" if item.result else ""
        first = item.result.first_line if item.result else item.problem
        print(f"{item.name:<{width}}  {code:>4}  {verdict:<4}  {seconds:>5}  {first[:110]}")
        problem = f" [{item.problem}]" if item.problem and item.result else ""
        print(f"{'':<{width}}                     checked: {item.checked}{problem}")
    ran = [item for item in cases if item.passed is not None]
    passed = sum(1 for item in ran if item.passed)
    print(f"\n{len(cases)} cases, {len(ran)} run, {passed} pass, {len(ran) - passed} fail, "
          f"{len(cases) - len(ran)} skipped, in {time.perf_counter() - started:.0f} s")  # fmt: skip
    return 0 if passed == len(ran) else 1


if __name__ == "__main__":
    sys.exit(main())
