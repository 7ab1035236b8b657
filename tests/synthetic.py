"""Synthetic footage for tests: a smooth random texture that really moves.

Frame t is a window of a larger canvas taken at offset (t·dy, t·dx), so the
true middle of frames k and k + 2 is exactly frame k + 1, and averaging the two
inputs gives a visibly blurred (double) image.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from sepgan.media.reader import VideoReader


def texture(height: int, width: int, seed: int = 0, detail: int = 8) -> np.ndarray:
    """H×W×3 uint8 smooth colour noise with features of about ``detail`` pixels."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, height // detail + 2, width // detail + 2, generator=generator)
    fine = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False).clamp(0, 1)
    return (fine[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def moving_frames(count: int, height: int, width: int, shift=(1, 2), seed: int = 0) -> list[np.ndarray]:
    """``count`` H×W×3 uint8 frames of a view window that moves by ``shift`` = (dy, dx) pixels per frame.

    The content therefore moves by −shift: its optical flow from frame t to t + 1 is (x, y) = (−dx, −dy).
    """
    dy, dx = shift
    margin_y, margin_x = abs(dy) * count, abs(dx) * count
    canvas = texture(height + margin_y, width + margin_x, seed)
    frames = []
    for t in range(count):
        top = t * dy if dy >= 0 else margin_y + t * dy
        left = t * dx if dx >= 0 else margin_x + t * dx
        frames.append(canvas[top : top + height, left : left + width].copy())
    return frames


def faded(frames: list[np.ndarray], start: int, step: float) -> list[np.ndarray]:
    """Frames from ``start`` on darkened by ``step`` more each frame (a fade to black)."""
    out = []
    for index, frame in enumerate(frames):
        gain = max(0.0, 1.0 - step * max(0, index - start + 1))
        out.append((frame.astype(np.float32) * gain + 0.5).astype(np.uint8))
    return out


def write_frame_folder(folder: Path, frames: list[np.ndarray], suffix: str = ".png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{index:05d}{suffix}")
    return folder


def to_tensor(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frame).permute(2, 0, 1).float().div(255)[None]


REAL_VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"


def make_clip(
    path: Path,
    frames: list[np.ndarray],
    fps: Fraction = Fraction(24),
    *,
    codec: str = "ffv1",
    tone_seconds: float | None = None,
) -> Path:
    """Write ``frames`` as a video; optionally add a 440 Hz AAC tone of ``tone_seconds``."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "bgr0" if codec == "ffv1" else "yuv444p"
        audio = None
        if tone_seconds is not None:
            audio = container.add_stream("aac", rate=48000, layout="mono")
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
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


def make_vfr_clip(path: Path, canvas: list[np.ndarray], slots: list[int], fps: int = 30) -> Path:
    """An FFV1 clip whose frames sit at ``slots`` (in frames of ``fps``; a gap is a stall), frame
    ``s`` showing ``canvas[s]``, so that content says its time."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=fps)
        stream.height, stream.width = canvas[0].shape[:2]
        stream.pix_fmt = "bgr0"
        for slot in slots:
            picture = av.VideoFrame.from_ndarray(canvas[slot], format="rgb24")
            picture.pts, picture.time_base = slot, Fraction(1, fps)
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))
    return path


def pattern_10bit(t: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Frame ``t`` of a smooth 10-bit pattern moving one pixel a frame: H×W×3 uint16 codes 0–1023, with
    more than 256 levels in each channel (64×48: 601 and more), which 8 bits cannot hold."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    phase = 2 * np.pi * (x + t) / width
    planes = [
        512 + 400 * np.sin(phase) * (0.5 + y / (2 * height)),
        300 + 9 * x + 2 * y,
        600 - 6 * x + 4 * y + 150 * np.cos(phase),
    ]
    return np.rint(np.stack(planes, -1)).astype(np.uint16)


def ten_bit_clip(path: Path, count: int = 6, grey: bool = False) -> Path:
    """A 64×48 FFV1 clip of :func:`pattern_10bit` in 10-bit RGB (``gbrp10le``), 24 fps; ``grey``: its first
    channel in all three."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "gbrp10le"
        for t in range(count):
            frame = pattern_10bit(t)[..., :1].repeat(3, axis=2) if grey else pattern_10bit(t)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="gbrp10le")))
        container.mux(stream.encode(None))
    return path


def decode_all(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return list(reader.frames())


def stream_seconds(path: Path, kind: str) -> float:
    """Duration of the first ``kind`` stream from its packets (last pts + duration − first pts)."""
    with av.open(str(path)) as container:
        stream = getattr(container.streams, kind)[0]
        times = [
            (packet.pts, packet.duration or 0) for packet in container.demux(stream) if packet.pts is not None
        ]
        first = min(pts for pts, _ in times)
        end = max(pts + duration for pts, duration in times)
        return float((end - first) * stream.time_base)


class AverageGenerator(torch.nn.Module):
    """Stand-in generator for Interpolator and job tests: the mean of the two frames.

    It states the generator contract (:class:`sepgan.models.protocol.Generator`) with
    SepConv-tiny's figures, checks that its input is padded to ``multiple``, and records
    the batch size of every call (``batches``; ``calls`` and ``pairs`` count them).
    With ``any_time`` it makes the frame at any t as ``(1 − t)·frame0 + t·frame1``
    and records the times it was asked for (``times``).
    """

    architecture = "average"
    multiple = 32
    context = 2
    inference_bytes_per_pixel = 4 * (12 * 5 + 4 * 4)
    flow_bytes_per_pixel = 0
    flow_thread_bytes_per_pixel = 0
    reads_neighbours = False

    def __init__(self, any_time: bool = False) -> None:
        super().__init__()
        self.any_time = any_time
        self.batches: list[int] = []
        self.times: list[float] = []

    @property
    def calls(self) -> int:
        return len(self.batches)

    @property
    def pairs(self) -> int:
        return sum(self.batches)

    def estimate_flows(self, frame0, frame1, workers=None, backend="opencv"):
        return None

    def compiled(self):
        return self

    def forward(self, frame0, frame1, time=None):
        assert frame0.shape[-1] % self.multiple == 0 and frame0.shape[-2] % self.multiple == 0
        self.batches.append(frame0.shape[0])
        if time is None:
            self.times += [0.5] * frame0.shape[0]
            return (frame0 + frame1) / 2
        assert self.any_time and time.shape == (frame0.shape[0],)
        self.times += time.tolist()
        t = time.view(-1, 1, 1, 1)
        return (1 - t) * frame0 + t * frame1


def run_interpolate_cli(*arguments: object, weights_folder: Path | None = None):
    """``sepgan interpolate ARGUMENTS --device cpu --quiet [--weights W]`` through Typer's CliRunner."""
    from typer.testing import CliRunner

    from sepgan.cli import app

    args = ["interpolate", *map(str, arguments), "--device", "cpu", "--quiet"]
    if weights_folder is not None:
        args += ["--weights", str(weights_folder)]
    return CliRunner().invoke(app, args)


def digest(path: Path) -> str:
    """SHA-256 of a file: proves an input was not touched."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_av_clip(
    path: Path,
    video_codec: str,
    audio_codec: str | None,
    *,
    pix_fmt: str = "yuv420p",
    sample_format: str = "s16",
    layout: str = "mono",
    rate: int = 22050,
    count: int = 12,
    fps: int = 12,
    audio_packets: bool = True,
) -> Path:
    """A 64×48 clip of ``count`` frames at ``fps`` with a tone in ``audio_codec`` (one second by default),
    as old cameras and Windows tools write them (MJPEG + PCM u8 or IMA ADPCM in .avi, WMV2 + WMA2
    in .wmv). ``audio_packets=False`` declares the audio stream and writes none of its packets (a
    DVB capture's silent AC-3 track)."""
    frames = moving_frames(count, 48, 64)
    with av.open(str(path), "w") as container:
        video = container.add_stream(video_codec, rate=fps)
        video.width, video.height, video.pix_fmt = 64, 48, pix_fmt
        audio = None
        if audio_codec is not None:
            audio = container.add_stream(audio_codec, rate=rate, layout=layout)
            audio.bit_rate = 64000  # WMA's encoder opens only with one
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = index
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
        if audio is None or not audio_packets:
            return path
        audio_format = av.AudioFormat(sample_format)
        channels = av.AudioLayout(layout).nb_channels
        samples = rate * count // fps
        tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / rate)
        kinds = {
            "u8": lambda x: (x * 127 + 128).astype(np.uint8),
            "s16": lambda x: (x * 32767).astype(np.int16),
        }
        values = kinds.get(audio_format.packed.name, lambda x: x.astype(np.float32))(tone)
        step = audio.codec_context.frame_size or 1024
        for start in range(0, samples, step):
            chunk = values[start : start + step]
            planes = (
                np.tile(chunk, (channels, 1)) if audio_format.is_planar else np.repeat(chunk, channels)[None]
            )
            piece = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(planes), format=sample_format, layout=layout
            )
            piece.sample_rate, piece.pts = rate, start
            container.mux(audio.encode(piece))
        container.mux(audio.encode(None))
    return path
