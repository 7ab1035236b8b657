"""The flow-guided model: DIS flow and warping, the flow baseline at init, prepared data, training,
interpolation."""

from __future__ import annotations

import json
import os
import threading
from fractions import Fraction

import numpy as np
import pytest
import torch

from sepgan.atomic import OutputExistsError
from sepgan.checkpoint import load_pretrained, save_pretrained
from sepgan.config import load_train_config
from sepgan.data import DatasetError, build_triplet_dataset
from sepgan.data.augment import PairedAugment
from sepgan.data.prepared import prepare_dataset
from sepgan.data.prepared_triplets import PreparedTriplets
from sepgan.evaluation.methods import FlowFineMethod, FlowMethod
from sepgan.flow import (
    FLOW_VARIANTS,
    backward_warp,
    backward_warp_numpy,
    consistency_error,
    ensemble_warps,
    estimate_flows,
    fill_out_of_frame,
    flows_at_time,
    middle_flows,
    split_variants,
)
from sepgan.interpolator import Interpolator
from sepgan.media.frames import to_uint8
from sepgan.models import create_model
from sepgan.models.flow_sepconv import FlowSepConv
from sepgan.training import train
from synthetic import make_clip, moving_frames, texture, to_tensor, write_frame_folder


def test_torch_warp_matches_opencv_remap():
    image = texture(40, 56, seed=3).astype(np.float32)
    yy, xx = np.mgrid[0:40, 0:56].astype(np.float32)
    flow = np.stack([2.5 * np.sin(yy / 7.0) + 1.3, 1.7 * np.cos(xx / 9.0) - 0.4], axis=2).astype(np.float32)
    expected = backward_warp_numpy(image, flow)
    warped = (
        backward_warp(
            torch.from_numpy(image).permute(2, 0, 1)[None], torch.from_numpy(flow).permute(2, 0, 1)[None]
        )[0]
        .permute(1, 2, 0)
        .numpy()
    )
    difference = np.abs(warped - expected)
    # OpenCV quantises bilinear weights to 1/32; torch does not.
    assert difference.mean() < 0.3 and difference.max() < 4.0


def test_fixed_point_middle_flow_follows_a_moving_object():
    # A 10-px square moves 8 px right over a still background: flow01 is 8 inside the square
    # of frame0 (columns 10..19), flow10 is -8 inside the square of frame1 (18..27). At the
    # middle the square covers 14..23. The half-flow guess reads flow10 at the middle pixel, so
    # background columns 24..27 inherit the square's motion; one fixed-point step looks where
    # that motion would lead (28..31, background) and drops it, and keeps it on 18..23.
    flows = torch.zeros(1, 4, 32, 40)
    flows[0, 0, 10:20, 10:20] = 8.0
    flows[0, 2, 10:20, 18:28] = -8.0
    naive_to0, _ = middle_flows(flows, iterations=0)
    refined_to0, _ = middle_flows(flows, iterations=1)
    assert torch.all(naive_to0[0, 0, 15, 24:28] == -4.0)
    assert torch.all(refined_to0[0, 0, 15, 24:28] == 0.0)
    assert torch.all(refined_to0[0, 0, 15, 18:24] == -4.0)


def test_warp_by_an_integer_flow_is_a_shift_and_round_trips_have_no_error():
    image = torch.rand(1, 3, 24, 32)
    flow = torch.zeros(1, 2, 24, 32)
    flow[:, 0], flow[:, 1] = 3.0, -2.0
    warped = backward_warp(image, flow)
    assert torch.allclose(warped[..., 2:, :-3], image[..., :-2, 3:], atol=1e-5)
    flows = torch.cat([flow, -flow], dim=1)
    assert consistency_error(flows).abs().max() < 1e-5


def test_dis_recovers_a_translation():
    frames = moving_frames(2, 64, 80, shift=(2, -3), seed=4)
    flows = estimate_flows(to_tensor(frames[0]), to_tensor(frames[1]))
    interior = flows[0, :, 16:-16, 16:-16]
    # the window moves by (dy, dx) = (2, -3), so the content moves by (x, y) = (3, -2)
    assert interior[0].median().item() == pytest.approx(3.0, abs=0.3)  # flow01 x
    assert interior[1].median().item() == pytest.approx(-2.0, abs=0.3)  # flow01 y
    assert interior[2].median().item() == pytest.approx(-3.0, abs=0.3)  # flow10 x


def test_every_flow_variant_is_mirrored_back_to_the_original_frame():
    # DIS on a mirrored pair sees mirrored motion; each group of the ensemble must be
    # brought back, so all four recover the same (x, y) = (3, -2) translation.
    frames = moving_frames(2, 64, 80, shift=(2, -3), seed=4)
    flows = estimate_flows(to_tensor(frames[0]), to_tensor(frames[1]), "fine", variants=len(FLOW_VARIANTS))
    groups = split_variants(flows)
    assert flows.shape == (1, 16, 64, 80) and len(groups) == 4
    for group in groups:
        interior = group[0, :, 16:-16, 16:-16]
        medians = [interior[c].median().item() for c in range(4)]
        assert medians == pytest.approx([3.0, -2.0, -3.0, 2.0], abs=0.3)
    # the first variant is the plain estimate
    assert torch.equal(groups[0], estimate_flows(to_tensor(frames[0]), to_tensor(frames[1]), "fine"))


def test_ensemble_warps_average_the_variants_middle_frames():
    frames = moving_frames(3, 48, 64, shift=(2, 3), seed=13)
    frame0, frame1 = to_tensor(frames[0]), to_tensor(frames[2])
    flows = estimate_flows(frame0, frame1, "fine", variants=2)
    warped0, warped1 = ensemble_warps(frame0, frame1, flows, iterations=1)
    middles = []
    for group in split_variants(flows):
        to0, to1 = middle_flows(group, 1)
        # each variant's middle frame takes out-of-frame samples from the other input (issue 19)
        middles.append(
            0.5 * sum(fill_out_of_frame(backward_warp(frame0, to0), backward_warp(frame1, to1), to0, to1))
        )
    assert torch.allclose(0.5 * (warped0 + warped1), sum(middles) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="4V"):
        split_variants(flows[:, :6])


@pytest.mark.parametrize("variants", [1, 2, 3, 4])
def test_ensemble_warps_one_variant_at_a_time_equal_all_variants_in_one_batch_bit_for_bit(variants):
    from sepgan.flow import (
        _fill,
        _inside,
        _positions,
        _warp_at,
        mean_over_variants,
        stack_times,
        stack_variants,
    )

    frames = moving_frames(3, 40, 56, shift=(2, 3), seed=5)
    frame0 = torch.cat([to_tensor(frames[0]), to_tensor(frames[1])])
    frame1 = torch.cat([to_tensor(frames[2]), to_tensor(frames[0])])
    flows = estimate_flows(frame0, frame1, "medium", variants=variants)
    residual = 0.3 * torch.randn(2, 2, 40, 56, generator=torch.Generator().manual_seed(0))
    for time in (0.5, torch.tensor([0.25, 0.7])):
        # what ensemble_warps computed before it looped over the variants: all of them in one batch
        to0, to1 = flows_at_time(stack_variants(flows), stack_times(time, variants), 1)
        to0 = to0 + residual.repeat(variants, 1, 1, 1)
        position0, position1 = _positions(to0), _positions(to1)
        batched = _fill(
            _warp_at(frame0.repeat(variants, 1, 1, 1), position0),
            _warp_at(frame1.repeat(variants, 1, 1, 1), position1),
            _inside(position0),
            _inside(position1),
        )
        looped = ensemble_warps(frame0, frame1, flows, time, iterations=1, residual0=residual)
        for got, want in zip(looped, batched, strict=True):
            assert torch.equal(got, mean_over_variants(want, variants))


def test_a_reused_dis_estimator_gives_the_flow_of_a_new_one():
    from sepgan.flow import dis_estimator, dis_flow

    frames = moving_frames(4, 48, 64, shift=(2, 1), seed=9)
    for preset in ("fine", "medium"):
        dis = dis_estimator(preset)
        for source, destination in zip(frames, frames[1:], strict=False):
            np.testing.assert_array_equal(
                dis_flow(source, destination, preset, dis=dis), dis_flow(source, destination, preset)
            )
    with pytest.raises(ValueError, match="unknown DIS preset"):
        dis_estimator("slow")


def test_the_any_time_warp_at_one_half_is_the_middle_frame():
    frames = moving_frames(3, 48, 64, shift=(2, 3), seed=13)
    frame0, frame1 = to_tensor(frames[0]), to_tensor(frames[2])
    flows = estimate_flows(torch.cat([frame0, frame1]), torch.cat([frame1, frame0]), "fine", variants=2)
    pair = split_variants(flows)[0]
    for iterations in (0, 1, 2):
        for t in (0.5, torch.tensor([0.5, 0.5])):
            for got, want in zip(
                flows_at_time(pair, t, iterations), middle_flows(pair, iterations), strict=True
            ):
                assert torch.equal(got, want)
    model = create_model("flow-sepconv", with_network=False)
    both0, both1 = torch.cat([frame0, frame1]), torch.cat([frame1, frame0])
    middle = model(both0, both1, flows=flows)
    torch.testing.assert_close(model(both0, both1, flows=flows, time=torch.tensor([0.5, 0.5])), middle)
    # one t per pair in a batch: each as if alone
    mixed = model(both0, both1, flows=flows, time=torch.tensor([0.25, 0.75]))
    for index, t in enumerate((0.25, 0.75)):
        alone = model(
            both0[index : index + 1], both1[index : index + 1], flows=flows[index : index + 1], time=t
        )
        torch.testing.assert_close(mixed[index : index + 1], alone, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        model(both0, both1, flows=flows, time=1.0)
    with pytest.raises(ValueError, match="only the middle frame"):
        create_model("flow-sepconv-tiny")(both0, both1, flows=flows, time=0.25)


@pytest.mark.parametrize("shift", [(0, 3), (2, -3)])
def test_a_linear_pan_rebuilt_at_one_third_and_two_thirds_is_within_a_grey_level(shift):
    frames = moving_frames(4, 96, 128, shift=shift, seed=5)  # frames 1 and 2 are the truth at 1/3 and 2/3
    interpolator = Interpolator(create_model("flow-sepconv", with_network=False), device="cpu")
    made = interpolator.interpolate_at(
        to_tensor(frames[0]), to_tensor(frames[3]), [[Fraction(1, 3), Fraction(2, 3)]]
    )
    for index, t in ((1, Fraction(1, 3)), (2, Fraction(2, 3))):
        error = np.abs(to_uint8(made[0][t][None])[0].astype(np.float64) - frames[index])
        blend = np.abs((1 - float(t)) * frames[0].astype(np.float64) + float(t) * frames[3] - frames[index])
        assert error.mean() < 1.0 < 10.0 < blend.mean()  # the plain blend of the inputs is far off


@pytest.mark.parametrize(
    ("options", "baseline"),
    [
        # the flow-* methods warp as the bundled flow-ensemble does (bicubic)
        ({"warp_interpolation": "bicubic"}, FlowFineMethod(variants=4)),
        ({"flow_variants": 1, "warp_interpolation": "bicubic"}, FlowFineMethod(variants=1)),
        (
            {"flow_preset": "medium", "middle_iterations": 0, "flow_variants": 1},
            FlowMethod(occlusion_aware=False),
        ),
    ],
)
def test_untrained_model_reproduces_its_flow_baseline_and_computes_its_own_flow(options, baseline):
    frames = moving_frames(3, 64, 96, shift=(3, 5), seed=5)
    model = create_model("flow-sepconv", **options).eval()
    frame0, frame1 = to_tensor(frames[0]), to_tensor(frames[2])
    with torch.no_grad():
        middle = model(frame0, frame1)
        given = model(frame0, frame1, flows=model.estimate_flows(frame0, frame1))
    assert torch.equal(middle, given)
    ours = np.floor(middle[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5)
    baseline.setup()
    expected = baseline(frames[0], frames[2]).astype(np.float64)
    if isinstance(baseline, FlowMethod):
        # flow-simple stays the textbook baseline (border-replicated warps); the model takes samples
        # that leave the frame from the other input, so they agree away from the edges.
        ours, expected = ours[8:-8, 8:-8], expected[8:-8, 8:-8]
    assert np.abs(ours - expected).max() <= 2
    assert np.abs(ours - expected).mean() < 0.05
    # and it really moved pixels: far better than averaging the inputs
    target = frames[1].astype(np.float64)
    average = (frames[0].astype(np.float64) + frames[2]) / 2
    if isinstance(baseline, FlowMethod):
        target, average = target[8:-8, 8:-8], average[8:-8, 8:-8]
    else:
        ours, target, average = ours[8:-8, 8:-8], target[8:-8, 8:-8], average[8:-8, 8:-8]
    assert np.abs(ours - target).mean() < 0.5 * np.abs(average - target).mean()


def test_every_head_learns_from_the_zero_init():
    torch.manual_seed(0)
    model = create_model("flow-sepconv-tiny")
    frames = moving_frames(3, 32, 32, shift=(1, 2), seed=6)
    frame0, target, frame1 = (to_tensor(f) for f in frames)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(2):
        loss = (model(frame0, frame1) - target).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert model.flow_head.weight.abs().sum() > 0
    assert model.head[-1].weight.abs().sum() > 0
    _, parts = model(frame0, frame1, return_parts=True)
    assert (parts["blend"] - 0.5).abs().max() > 0
    assert (parts["kernel_vertical0"] - model.delta).abs().max() > 0


def test_checkpoint_rebuilds_the_flow_model(tmp_path):
    model = create_model("flow-sepconv", kernel_size=5, flow_preset="fast")
    save_pretrained(model, tmp_path / "weights", half=True)
    loaded = load_pretrained(tmp_path / "weights")
    assert loaded.config == model.config
    assert loaded.architecture == "flow-sepconv"


def test_interpolator_runs_the_flow_model_at_odd_sizes_and_in_tiles():
    torch.manual_seed(0)
    model = create_model("flow-sepconv-tiny")
    with torch.no_grad():  # a random, non-trivial head so that tiles really differ from whole frames
        for parameter in model.head[-1].parameters():
            parameter.normal_(0, 0.01)
    frames = moving_frames(2, 150, 220, shift=(2, 3), seed=7)
    frame0, frame1 = to_tensor(frames[0])[0], to_tensor(frames[1])[0]
    whole = Interpolator(model, device="cpu").interpolate(frame0, frame1)
    tiled = Interpolator(model, device="cpu", tile=160, tile_overlap=32).interpolate(frame0, frame1)
    assert whole.shape == (3, 150, 220)
    assert (whole - tiled).abs().mean() < 2 / 255


def test_augment_moves_flows_with_the_frames():
    frames = moving_frames(2, 48, 64, shift=(2, -3), seed=8)
    flows = np.zeros((4, 48, 64), np.float32)
    flows[0], flows[1], flows[2], flows[3] = 3.0, -2.0, -3.0, 2.0  # content moves by (x, y) = (3, -2)
    seen = set()
    for seed in range(12):
        augment = PairedAugment(crop_size=(32, 40), seed=seed)
        frame0, frame1, _, moved = augment(frames[0], frames[1], frames[1], flows=flows)
        seen.add(tuple(moved[:, 0, 0]))
        warped = backward_warp(
            to_tensor(np.ascontiguousarray(frame1)), torch.from_numpy(moved[None, :2].copy())
        )
        assert (warped - to_tensor(np.ascontiguousarray(frame0)))[..., 4:-4, 4:-4].abs().max() < 1e-4
    assert len(seen) >= 4  # flips and reversal all happened


def test_augment_moves_every_group_of_a_flow_ensemble():
    frames = moving_frames(2, 48, 64, shift=(2, -3), seed=8)
    group = np.zeros((4, 48, 64), np.float32)
    group[0], group[1], group[2], group[3] = 3.0, -2.0, -3.0, 2.0
    flows = np.concatenate([group, group * 1.0])  # two variants
    for seed in range(8):
        frame0, frame1, _, moved = PairedAugment(crop_size=(32, 40), seed=seed)(
            frames[0], frames[1], frames[1], flows=flows
        )
        assert moved.shape == (8, 32, 40) and np.array_equal(moved[:4], moved[4:])
        warped = backward_warp(
            to_tensor(np.ascontiguousarray(frame1)), torch.from_numpy(moved[None, 4:6].copy())
        )
        assert (warped - to_tensor(np.ascontiguousarray(frame0)))[..., 4:-4, 4:-4].abs().max() < 1e-4


def test_channel_permutation_leaves_flows_alone():
    frames = moving_frames(2, 24, 24, seed=12)
    flows = np.random.default_rng(0).normal(size=(4, 24, 24)).astype(np.float32)
    augment = PairedAugment(
        crop_size=None,
        flip_horizontal=False,
        flip_vertical=False,
        temporal_reverse=False,
        channel_permute=True,
        seed=3,
    )
    *_, moved = augment(frames[0], frames[1], frames[1], flows=flows)
    assert np.array_equal(moved, flows)


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    root = tmp_path_factory.mktemp("footage")
    make_clip(root / "clip.mkv", moving_frames(9, 48, 64, shift=(1, 2), seed=9))
    write_frame_folder(root / "sequence", moving_frames(7, 64, 48, shift=(-2, 1), seed=10))
    write_frame_folder(root / "small", moving_frames(7, 16, 16, seed=11))
    return root


def test_prepare_stores_whole_frame_flow_crops(footage, tmp_path):
    summary = prepare_dataset([footage], tmp_path / "set", gaps=(1, 2), crop_size=32, stride=1, seed=1)
    # clip: 9 frames → 7 (gap 1) + 5 (gap 2); sequence: 7 frames → 5 + 3; small is skipped.
    assert summary.count == 20
    assert any("small" in name for name in summary.skipped)
    index = json.loads((tmp_path / "set" / "prepared.json").read_text())
    assert index["count"] == 20 and len(index["triplets"]) == 20
    dataset = build_triplet_dataset(tmp_path / "set", augment=PairedAugment(crop_size=16, seed=0))
    assert isinstance(dataset, PreparedTriplets)
    frame0, _, target, flows = dataset[0]
    assert frame0.shape == target.shape == (3, 16, 16) and flows.shape == (4, 16, 16)
    # The stored flow of the clip's first triplet is its motion between the inputs k and k + 2g:
    # (x, y) = (-2, -1) per frame.
    raw = PreparedTriplets(tmp_path / "set")
    record = index["triplets"][0]
    _, _, _, stored = raw[0]
    assert record["gap"] in (1, 2)
    assert stored[0].median().item() == pytest.approx(-2.0 * 2 * record["gap"], abs=0.5)


def test_prepare_stores_a_flow_ensemble_that_the_model_reads(footage, tmp_path):
    summary = prepare_dataset([footage / "sequence"], tmp_path / "set", gaps=(1,), crop_size=32, stride=2,
                              flow_variants=2)  # fmt: skip
    dataset = PreparedTriplets(tmp_path / "set")
    assert dataset.flow_variants == 2 and len(dataset) == summary.count == 3
    frame0, frame1, _, flows = dataset[1]
    assert flows.shape == (8, 32, 32)
    # both variants see the sequence's motion, (x, y) = (-1, 2) per frame, in the original frame
    for group in (flows[:4], flows[4:]):
        assert group[0].median().item() == pytest.approx(-2.0, abs=0.5)
        assert group[1].median().item() == pytest.approx(4.0, abs=0.5)
    model = create_model("flow-sepconv-tiny").eval()
    with torch.no_grad():
        middle = model(frame0[None], frame1[None], flows=flows[None])
    assert middle.shape == (1, 3, 32, 32)
    with pytest.raises(ValueError, match="flow_variants"):
        prepare_dataset([footage / "sequence"], tmp_path / "bad", crop_size=32, flow_variants=5)


def test_prepare_is_atomic_and_refuses_bad_input(footage, tmp_path):
    (tmp_path / "earlier.txt").write_text("an earlier set")  # an empty folder would be written into
    with pytest.raises(OutputExistsError, match="already exists; use overwrite"):
        prepare_dataset([footage], tmp_path)
    with pytest.raises(DatasetError, match="no videos"):
        prepare_dataset([footage / "sequence"], tmp_path / "none", exclude=[footage])
    with pytest.raises(DatasetError, match="no triplets"):
        prepare_dataset([footage / "small"], tmp_path / "tiny", crop_size=32)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_training_on_a_prepared_set_passes_whole_frame_flows(footage, tmp_path, monkeypatch):
    prepare_dataset([footage], tmp_path / "set", gaps=(1,), crop_size=32, stride=1)
    config = load_train_config(
        None,
        [
            f"output_dir={tmp_path / 'run'}", f"data.paths=[{tmp_path / 'set'}]", "data.crop_size=32",
            "data.batch_size=4", "data.validation_size=2", "max_steps=3", "validate_every=3",
            "checkpoint_every=3", "image_every=3", "device=cpu", "model.name=flow-sepconv-tiny",
        ],
    )  # fmt: skip

    def no_flow_on_crops(*args, **kwargs):
        raise AssertionError("the model computed flow on crops instead of using the prepared flows")

    monkeypatch.setattr(FlowSepConv, "estimate_flows", no_flow_on_crops)
    result = train(config, progress=False)
    assert result.step == 3
    assert load_pretrained(tmp_path / "run" / "generator").architecture == "flow-sepconv"


def test_the_bundled_flow_ensemble_is_the_classical_part_alone():
    frames = moving_frames(3, 64, 96, shift=(3, 5), seed=5)
    interpolator = Interpolator.from_pretrained("flow-ensemble", device="cpu")
    model = interpolator.model
    assert model.architecture == "flow-sepconv" and not model.with_network and model.flow_variants == 4
    assert sum(p.numel() for p in model.parameters()) == 0
    middle = interpolator.interpolate(to_tensor(frames[0])[0], to_tensor(frames[2])[0])
    ours = np.floor(middle.permute(1, 2, 0).numpy() * 255 + 0.5)
    expected = FlowFineMethod(variants=4)(frames[0], frames[2]).astype(np.float64)
    assert np.abs(ours - expected).max() <= 1
    assert model.warp_interpolation == "bicubic"
    # and the untrained network (with the same warps) outputs the same frame, so the network only
    # ever adds corrections
    untrained = create_model("flow-sepconv", warp_interpolation="bicubic").eval()
    frame0, frame1 = to_tensor(frames[0]), to_tensor(frames[2])
    with torch.no_grad():
        flows = untrained.estimate_flows(frame0, frame1)
        assert torch.allclose(
            untrained(frame0, frame1, flows=flows), model(frame0, frame1, flows=flows), atol=1e-6
        )


def test_bicubic_warps_keep_the_detail_that_bilinear_warps_blur():
    # A fine vertical grating (period 4 px) moved by half a pixel: bilinear sampling averages two
    # neighbours and loses about a third of its contrast; bicubic keeps most of it.
    columns = torch.arange(64, dtype=torch.float32)
    image = (0.5 + 0.4 * torch.sin(2 * torch.pi * columns / 4)).expand(1, 3, 32, 64).contiguous()
    truth = (0.5 + 0.4 * torch.sin(2 * torch.pi * (columns - 0.5) / 4)).expand(1, 3, 32, 64)
    flows = torch.zeros(1, 4, 32, 64)
    flows[:, 0], flows[:, 2] = 1.0, -1.0  # a 1-px motion: the middle reads frame0 at x − 0.5
    inside = (..., slice(4, -4))
    errors, contrasts = {}, {}
    for interpolation in ("bilinear", "bicubic"):
        warped0, _ = ensemble_warps(image, image, flows, iterations=0, interpolation=interpolation)
        errors[interpolation] = float((warped0 - truth)[inside].abs().mean())
        contrasts[interpolation] = float(warped0[inside].std())
    assert contrasts["bilinear"] < 0.75 * float(truth.std())
    assert contrasts["bicubic"] > 1.2 * contrasts["bilinear"]
    assert errors["bicubic"] < 0.5 * errors["bilinear"]
    # a whole-pixel motion is the same shift either way
    flows = torch.zeros(1, 4, 32, 64)
    flows[:, 0], flows[:, 2] = 2.0, -2.0
    for interpolation in ("bilinear", "bicubic"):
        warped0, _ = ensemble_warps(image, image, flows, iterations=0, interpolation=interpolation)
        assert torch.allclose(warped0[..., 4:-4], image[..., 3:-5], atol=1e-5)
    with pytest.raises(ValueError, match="unknown warp interpolation 'nearest'"):
        ensemble_warps(image, image, flows, interpolation="nearest")
    with pytest.raises(ValueError, match="unknown warp interpolation"):
        FlowSepConv(warp_interpolation="lanczos")


def test_a_flow_model_saved_without_the_warp_option_keeps_bilinear_warps(tmp_path):
    # checkpoints from before the option (sepgan-flow, sepgan-gan) were trained on bilinear warps
    model = create_model("flow-sepconv", channels=(4, 4, 4, 4, 4))
    assert model.warp_interpolation == "bilinear"
    save_pretrained(model, tmp_path / "old")
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    del config["config"]["warp_interpolation"]
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    assert load_pretrained(tmp_path / "old").warp_interpolation == "bilinear"
    for name in ("sepgan-flow", "sepgan-gan"):
        assert Interpolator.from_pretrained(name, device="cpu").model.warp_interpolation == "bilinear"


def test_dis_runs_in_one_thread_per_core_of_the_affinity_set(monkeypatch):
    from sepgan import flow

    sizes = []

    class Recorder(flow.ThreadPoolExecutor):
        def __init__(self, max_workers):
            sizes.append(max_workers)
            super().__init__(max_workers=max_workers)

    monkeypatch.setattr(flow, "ThreadPoolExecutor", Recorder)
    frames = moving_frames(2, 48, 64, seed=3)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert flow.flow_workers() == 3
    flow.flow_ensemble_numpy(frames[0], frames[1], "medium", variants=4)  # 8 calls on 3 cores
    flow.flow_ensemble_numpy(frames[0], frames[1], "medium", variants=1)  # 2 calls on 3 cores
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5}, raising=False)
    flow.flow_ensemble_numpy(frames[0], frames[1], "medium", variants=4)  # one core: no pool
    assert sizes == [3, 2]


def test_workers_caps_the_dis_pool_and_one_worker_runs_every_call_in_the_calling_thread(monkeypatch):
    from sepgan import flow

    sizes, threads = [], []

    class Recorder(flow.ThreadPoolExecutor):
        def __init__(self, max_workers):
            sizes.append(max_workers)
            super().__init__(max_workers=max_workers)

    real_dis = flow.dis_flow

    def recording_dis(*args, **kwargs):
        threads.append(threading.get_ident())
        return real_dis(*args, **kwargs)

    monkeypatch.setattr(flow, "ThreadPoolExecutor", Recorder)
    monkeypatch.setattr(flow, "dis_flow", recording_dis)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5}, raising=False)
    frame0, frame1 = (to_tensor(frame) for frame in moving_frames(2, 48, 64, seed=3))
    pooled = estimate_flows(frame0, frame1, "medium", variants=4)  # the affinity set: 6 threads for 8 calls
    capped = estimate_flows(frame0, frame1, "medium", variants=4, workers=2)
    assert sizes == [6, 2]
    threads.clear()
    single = estimate_flows(frame0, frame1, "medium", variants=4, workers=1)
    assert sizes == [6, 2] and threads == [threading.get_ident()] * 8  # no pool: all 8 calls here
    assert torch.equal(pooled, capped) and torch.equal(pooled, single)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        estimate_flows(frame0, frame1, "medium", workers=0)
