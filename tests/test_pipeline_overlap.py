"""The threaded video pipeline: same frames as the sequential one, full batches, errors from any thread."""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

from sepgan import stages
from sepgan.interpolator import Interpolator
from sepgan.jobs import InterpolateOptions, interpolate_folder, interpolate_video
from sepgan.models import create_model
from sepgan.video import VideoWriter
from synthetic import decode_all, make_clip, moving_frames, write_frame_folder


class Average(nn.Module):
    """Stand-in generator: the mean of the two frames; records the batch size of every call."""

    # The generator contract (sepgan.models.protocol.Generator) with SepConv-tiny's figures.
    architecture = "average"
    multiple = 32
    context = 2
    inference_bytes_per_pixel = 4 * (12 * 5 + 4 * 4)

    def estimate_flows(self, frame0, frame1, workers=None):
        return None

    def compiled(self):
        return self

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def forward(self, frame0, frame1):
        self.batches.append(frame0.shape[0])
        return (frame0 + frame1) / 2


def _options(**overrides) -> InterpolateOptions:
    return InterpolateOptions(progress=False, scene_threshold=None, **overrides)


def _no_pipeline_threads() -> bool:
    return not any(thread.name.startswith("sepgan-") for thread in threading.enumerate())


@pytest.mark.parametrize("factor", [2, 4])
def test_overlap_writes_the_same_frames_as_the_sequential_pipeline(tmp_path, factor):
    torch.manual_seed(0)
    interpolator = Interpolator(create_model("sepconv-tiny"), device="cpu", batch_size=2)
    source = make_clip(tmp_path / "in.mkv", moving_frames(7, 32, 48), Fraction(24), tone_seconds=7 / 24)
    outputs = {}
    for overlap in (False, True):
        output = tmp_path / f"out-{overlap}.mkv"
        options = _options(factor=factor, codec="ffv1", overlap=overlap)
        result = interpolate_video(interpolator, source, output, options)
        assert result.stats.frames_out == 7 * factor
        outputs[overlap] = decode_all(output)
    assert len(outputs[True]) == len(outputs[False]) == 7 * factor
    for threaded, sequential in zip(outputs[True], outputs[False]):
        np.testing.assert_array_equal(threaded, sequential)
    assert _no_pipeline_threads()


def test_overlap_frame_folder_matches_the_sequential_one(tmp_path):
    torch.manual_seed(0)
    interpolator = Interpolator(create_model("sepconv-tiny"), device="cpu", batch_size=3)
    write_frame_folder(tmp_path / "in", moving_frames(5, 32, 40))
    for overlap in (False, True):
        interpolate_folder(
            interpolator, tmp_path / "in", tmp_path / f"out-{overlap}", _options(overlap=overlap)
        )
    threaded = sorted((tmp_path / "out-True").iterdir())
    sequential = sorted((tmp_path / "out-False").iterdir())
    assert [path.name for path in threaded] == [path.name for path in sequential]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(threaded, sequential))


def test_every_network_call_gets_batch_pairs_even_with_static_pairs(tmp_path):
    frames = moving_frames(8, 32, 32)
    frames.insert(3, frames[2])  # one static pair: it must not use up a slot of the batch
    model = Average()
    interpolator = Interpolator(model, device="cpu", batch_size=3)
    source = make_clip(tmp_path / "in.mkv", frames, Fraction(24), codec="ffv1")
    result = interpolate_video(interpolator, source, tmp_path / "out.mkv", _options(codec="ffv1"))
    assert result.stats.static_pairs == 1
    assert model.batches == [3, 3, 1]  # 7 moving pairs in batches of 3


def test_an_encoder_error_reaches_the_caller_and_leaves_nothing(tmp_path, monkeypatch):
    source = make_clip(tmp_path / "in.mkv", moving_frames(12, 32, 32), Fraction(24))
    original = VideoWriter.write

    def failing_write(self, frame):
        if self.frames_written == 5:
            raise OSError("disk full")
        original(self, frame)

    monkeypatch.setattr(VideoWriter, "write", failing_write)
    interpolator = Interpolator(Average(), device="cpu", batch_size=2)
    with pytest.raises(OSError, match="disk full"):
        interpolate_video(interpolator, source, tmp_path / "out.mkv", _options(codec="ffv1"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.mkv"]
    assert _no_pipeline_threads()


def test_a_decoder_error_reaches_the_caller_and_leaves_nothing(tmp_path):
    write_frame_folder(tmp_path / "in", moving_frames(6, 32, 32))
    (tmp_path / "in" / "00003.png").write_bytes(b"not a png")
    interpolator = Interpolator(Average(), device="cpu", batch_size=2)
    with pytest.raises(Exception, match="00003.png"):
        interpolate_folder(interpolator, tmp_path / "in", tmp_path / "out", _options())
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in"]
    assert _no_pipeline_threads()


def test_read_ahead_is_bounded_and_stops_when_closed():
    produced = []

    def endless():
        index = 0
        while True:
            produced.append(index)
            yield index
            index += 1

    reader = stages.ReadAhead(endless(), maxsize=3)
    iterator = iter(reader)
    assert [next(iterator) for _ in range(2)] == [0, 1]
    reader.close()
    assert len(produced) <= 2 + 3 + 1  # consumed + queued + one in hand
    assert _no_pipeline_threads()
