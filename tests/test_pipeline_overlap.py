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
from sepgan.media.writer import VideoWriter
from sepgan.models import create_model
from synthetic import AverageGenerator, decode_all, make_clip, moving_frames, write_frame_folder


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
    for threaded, sequential in zip(outputs[True], outputs[False], strict=True):
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
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(threaded, sequential, strict=True))


def test_every_network_call_gets_batch_pairs_even_with_static_pairs(tmp_path):
    frames = moving_frames(8, 32, 32)
    frames[3:3] = [frames[2]] * 3  # a pause (not a held frame): its static pairs use no slot of a batch
    model = AverageGenerator()
    interpolator = Interpolator(model, device="cpu", batch_size=3)
    source = make_clip(tmp_path / "in.mkv", frames, Fraction(24), codec="ffv1")
    result = interpolate_video(interpolator, source, tmp_path / "out.mkv", _options(codec="ffv1"))
    assert result.stats.static_pairs == 3 and result.stats.held_frames == 0
    assert model.batches == [3, 3, 1]  # 7 moving pairs in batches of 3


def test_an_encoder_error_reaches_the_caller_and_leaves_nothing(tmp_path, monkeypatch):
    source = make_clip(tmp_path / "in.mkv", moving_frames(12, 32, 32), Fraction(24))
    original = VideoWriter.write

    def failing_write(self, frame):
        if self.frames_written == 5:
            raise OSError("disk full")
        original(self, frame)

    monkeypatch.setattr(VideoWriter, "write", failing_write)
    interpolator = Interpolator(AverageGenerator(), device="cpu", batch_size=2)
    with pytest.raises(OSError, match="disk full"):
        interpolate_video(interpolator, source, tmp_path / "out.mkv", _options(codec="ffv1"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.mkv"]
    assert _no_pipeline_threads()


def test_a_decoder_error_reaches_the_caller_and_leaves_nothing(tmp_path):
    write_frame_folder(tmp_path / "in", moving_frames(6, 32, 32))
    (tmp_path / "in" / "00003.png").write_bytes(b"not a png")
    interpolator = Interpolator(AverageGenerator(), device="cpu", batch_size=2)
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


def _flow_model() -> nn.Module:
    """flow-sepconv-tiny with two flow variants and non-zero heads, so the network really uses the flows."""
    torch.manual_seed(0)
    model = create_model("flow-sepconv-tiny", flow_variants=2)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.02 * torch.randn_like(parameter))
    return model


def _barred(frames: list[np.ndarray]) -> list[np.ndarray]:
    for frame in frames:
        frame[:6] = 0  # a static black bar: flow is computed on the picture inside it
    return frames


def test_flows_passed_in_give_the_same_frame_as_flows_computed_inside():
    frames = _barred(moving_frames(2, 40, 56, shift=(1, 3), seed=2))
    frame0, frame1 = (torch.from_numpy(f).permute(2, 0, 1).float().div(255)[None] for f in frames)
    frame0, frame1 = torch.cat([frame0, frame1]), torch.cat([frame1, frame0])  # a batch of two pairs
    interpolator = Interpolator(_flow_model(), device="cpu")
    flows = interpolator.estimate_flows(frame0, frame1)
    assert flows.shape == (2, 8, 34, 56)  # two variants, inside the 6-row bar
    assert torch.equal(
        interpolator.interpolate(frame0, frame1, flows=flows), interpolator.interpolate(frame0, frame1)
    )
    with pytest.raises(ValueError, match="do not belong to these"):
        interpolator.interpolate(frame0[:1], frame1[:1], flows=flows)
    assert Interpolator(AverageGenerator(), device="cpu").estimate_flows(frame0, frame1) is None


@pytest.mark.parametrize("factor", [2, 4])
def test_flow_ahead_writes_the_same_frames_with_a_flow_model(tmp_path, factor):
    interpolator = Interpolator(_flow_model(), device="cpu", batch_size=2)
    frames = _barred(moving_frames(7, 32, 48, shift=(1, 2), seed=1))
    source = make_clip(tmp_path / "in.mkv", frames, Fraction(24), codec="ffv1")
    outputs = {}
    for overlap in (False, True):
        output = tmp_path / f"out-{overlap}.mkv"
        result = interpolate_video(
            interpolator, source, output, _options(factor=factor, codec="ffv1", overlap=overlap)
        )
        assert result.stats.frames_out == 7 * factor and result.stats.seconds["flow"] > 0
        outputs[overlap] = decode_all(output)
    assert len(outputs[True]) == len(outputs[False]) == 7 * factor
    for threaded, sequential in zip(outputs[True], outputs[False], strict=False):
        np.testing.assert_array_equal(threaded, sequential)
    assert _no_pipeline_threads()


class FlowAverage(AverageGenerator):
    """Average with a stand-in flow stage that records the order of flow and network calls."""

    multiple = 16

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, str]] = []
        self.second_flow = threading.Event()

    def estimate_flows(self, frame0, frame1, workers=None, backend="opencv"):
        self.events.append(("flow", threading.current_thread().name))
        if sum(kind == "flow" for kind, _ in self.events) == 2:
            self.second_flow.set()
        return torch.zeros(frame0.shape[0], 4, *frame0.shape[-2:])

    def forward(self, frame0, frame1, flows=None, time=None):
        assert flows is not None  # computed ahead, never here
        if not any(kind == "network" for kind, _ in self.events):
            # The first batch's network waits for the second batch's flow: only a flow stage running
            # ahead gets it.
            self.second_flow.wait(timeout=20)
        self.events.append(("network", threading.current_thread().name))
        return super().forward(frame0, frame1, time)


def test_the_next_batch_flow_runs_in_its_thread_while_the_network_runs_the_current_one(tmp_path):
    model = FlowAverage()
    interpolator = Interpolator(model, device="cpu", batch_size=2)
    write_frame_folder(tmp_path / "in", moving_frames(9, 32, 32))  # 8 pairs: 4 batches of 2
    interpolate_folder(interpolator, tmp_path / "in", tmp_path / "out", _options())
    kinds = [kind for kind, _ in model.events]
    assert kinds[:3] == ["flow", "flow", "network"]  # batch 2's flow before batch 1's network ended
    assert {name for kind, name in model.events if kind == "flow"} == {"sepgan-flow"}
    assert {name for kind, name in model.events if kind == "network"} == {threading.main_thread().name}
    ahead = 0
    for kind in kinds:  # the flow stage stays one batch ahead: it never holds more than two batches' flows
        ahead += 1 if kind == "flow" else -1
        assert ahead <= 2
    assert kinds.count("flow") == kinds.count("network") == 4
    assert _no_pipeline_threads()
