"""SepConv generator, conditional discriminators and the model registry (CPU, tiny models)."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from sepgan.models import (
    ConditionalDiscriminator,
    PatchDiscriminator,
    SepConv,
    WassersteinCritic,
    create_model,
    list_models,
    model_from_config,
)
from sepgan.models.sepconv import KERNEL_NAMES, KERNEL_NORMALIZATION_EPS
from sepgan.ops import separable_conv_naive

TINY = {"kernel_size": 5, "channels": (4, 8, 8, 8, 8)}


def _frames(
    batch: int = 2, height: int = 64, width: int = 64, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.rand(batch, 3, height, width, generator=generator),
        torch.rand(batch, 3, height, width, generator=generator),
    )


def _tiny(**options: bool) -> SepConv:
    torch.manual_seed(0)
    return SepConv(**TINY, **options).eval()


def _make_kernels_positive(model: SepConv) -> None:
    """Shift every kernel's last-layer bias so each kernel sums to about 1 (S well away from 0)."""
    with torch.no_grad():
        for name in KERNEL_NAMES:
            getattr(model, name)[-1].bias.fill_(1.0 / model.kernel_size)


def _parameter_count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


# --- SepConv -------------------------------------------------------------------------------------


def test_paper_sepconv_has_published_parameter_count() -> None:
    model = SepConv()
    assert _parameter_count(model) == 21_675_452
    assert model.max_displacement == 25
    assert model.context_padding == 32
    assert model.architecture == "sepconv"


@pytest.mark.parametrize("height, width", [(64, 64), (96, 128)])
def test_tiny_forward_shapes(height: int, width: int) -> None:
    model = create_model("sepconv-tiny")
    frame0, frame1 = _frames(1, height, width)
    with torch.no_grad():
        middle, kernels = model(frame0, frame1, return_kernels=True)
    assert middle.shape == (1, 3, height, width)
    assert middle.dtype == torch.float32
    assert set(kernels) == set(KERNEL_NAMES)
    for kernel in kernels.values():
        assert kernel.shape == (1, 5, height, width)


@pytest.mark.parametrize("delayed_padding", [False, True])
def test_both_padding_modes_return_full_frame(delayed_padding: bool) -> None:
    model = _tiny(delayed_padding=delayed_padding)
    frame0, frame1 = _frames(1, 32, 64)
    with torch.no_grad():
        assert model(frame0, frame1).shape == (1, 3, 32, 64)


def test_paper_padding_equals_sepconv_on_padded_frames_then_crop() -> None:
    # The forward skips the border work; check it against the literal paper recipe.
    model = _tiny(delayed_padding=False)
    frame0, frame1 = _frames(1, 32, 32)
    pad = model.context_padding
    assert pad == 16
    padded0 = F.pad(frame0, (pad,) * 4, mode="replicate")
    padded1 = F.pad(frame1, (pad,) * 4, mode="replicate")
    with torch.no_grad():
        kernels = model._estimate_kernels(padded0, padded1)
        expected = separable_conv_naive(padded0, kernels["kernel_vertical0"], kernels["kernel_horizontal0"])
        expected += separable_conv_naive(padded1, kernels["kernel_vertical1"], kernels["kernel_horizontal1"])
        expected = expected[..., pad : pad + 32, pad : pad + 32]
        middle = model(frame0, frame1)
    torch.testing.assert_close(middle, expected, rtol=1e-5, atol=1e-6)
    # Without the padding the kernels near the border come from less context, so results differ.
    delayed = _tiny(delayed_padding=True)
    with torch.no_grad():
        assert not torch.allclose(delayed(frame0, frame1), middle, atol=1e-6)


@pytest.mark.parametrize(
    "shape0, shape1, message",
    [
        ((1, 3, 65, 64), (1, 3, 65, 64), "multiple"),
        ((1, 3, 64, 48), (1, 3, 64, 48), "multiple"),
        ((1, 3, 64, 64), (1, 3, 64, 96), "same shape"),
        ((1, 1, 64, 64), (1, 1, 64, 64), "B×3×H×W"),
    ],
)
def test_forward_rejects_bad_inputs(shape0: tuple, shape1: tuple, message: str) -> None:
    model = create_model("sepconv-tiny")
    with pytest.raises(ValueError, match=message):
        model(torch.rand(shape0), torch.rand(shape1))


def test_size_error_names_the_size_and_the_interpolator() -> None:
    model = create_model("sepconv-tiny")
    with pytest.raises(ValueError, match=r"65×64.*Interpolator"):
        model(torch.rand(1, 3, 65, 64), torch.rand(1, 3, 65, 64))


def test_rejects_even_kernel_size() -> None:
    with pytest.raises(ValueError, match="odd"):
        SepConv(kernel_size=4, channels=(4, 8, 8, 8, 8))


def test_config_is_json_and_rebuilds_same_parameter_shapes() -> None:
    model = SepConv(**TINY, input_normalization=True, kernel_normalization=True, delayed_padding=True)
    config = json.loads(json.dumps(model.config))
    assert config == model.config
    rebuilt = SepConv(**config)
    assert rebuilt.config == model.config
    shapes = {name: tensor.shape for name, tensor in model.state_dict().items()}
    assert {name: tensor.shape for name, tensor in rebuilt.state_dict().items()} == shapes
    # Mutating the returned dict must not change the model.
    model.config["channels"].append(1)
    assert model.config["channels"] == [4, 8, 8, 8, 8]


def test_kernel_normalization_keeps_a_constant_frame_constant() -> None:
    frame = torch.full((2, 3, 32, 32), 0.3)
    for delayed_padding in (False, True):
        model = _tiny(kernel_normalization=True, delayed_padding=delayed_padding)
        _make_kernels_positive(model)
        with torch.no_grad():
            torch.testing.assert_close(model(frame, frame), frame, rtol=1e-5, atol=1e-5)
    # Without the normalisation the output is not a weighted average.
    plain = _tiny()
    _make_kernels_positive(plain)
    with torch.no_grad():
        assert not torch.allclose(plain(frame, frame), frame, atol=1e-3)


def test_kernel_normalization_divides_by_total_kernel_weight() -> None:
    model = _tiny(kernel_normalization=True, delayed_padding=True)
    _make_kernels_positive(model)
    frame0, frame1 = _frames(1, 32, 32)
    with torch.no_grad():
        middle, kernels = model(frame0, frame1, return_kernels=True)
        kv0, kh0, kv1, kh1 = (kernels[name] for name in KERNEL_NAMES)
        numerator = separable_conv_naive(frame0, kv0, kh0) + separable_conv_naive(frame1, kv1, kh1)
        ones = torch.ones_like(frame0[:, :1])
        weight = separable_conv_naive(ones, kv0, kh0) + separable_conv_naive(ones, kv1, kh1)
    torch.testing.assert_close(middle, numerator / (weight + KERNEL_NORMALIZATION_EPS), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel_normalization", [False, True])
def test_input_normalization_is_equivariant_to_brightness(kernel_normalization: bool) -> None:
    model = _tiny(input_normalization=True, kernel_normalization=kernel_normalization)
    _make_kernels_positive(model)
    frame0, frame1 = _frames(2, 32, 32)
    scale, shift = 0.5, 0.2
    with torch.no_grad():
        middle = model(frame0, frame1)
        brightened = model(scale * frame0 + shift, scale * frame1 + shift)
    torch.testing.assert_close(brightened, scale * middle + shift, rtol=1e-4, atol=1e-5)
    if not kernel_normalization:
        # The plain network has no such symmetry. (With kernel normalisation alone it nearly has:
        # a weighted average commutes with a brightness change, only the kernels' dependence on
        # brightness breaks it, and that is weak in a random tiny network.)
        plain = _tiny()
        _make_kernels_positive(plain)
        with torch.no_grad():
            expected = scale * plain(frame0, frame1) + shift
            brightened = plain(scale * frame0 + shift, scale * frame1 + shift)
            assert not torch.allclose(brightened, expected, atol=1e-3)


def test_gradients_reach_every_parameter() -> None:
    model = SepConv(**TINY, kernel_normalization=True, input_normalization=True)
    _make_kernels_positive(model)
    frame0, frame1 = _frames(1, 32, 32)
    model(frame0, frame1).sub(frame0).abs().mean().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name


# --- Registry ------------------------------------------------------------------------------------


def test_registry_lists_expected_names() -> None:
    expected = {"sepconv", "sepconv-lite", "sepconv-tiny", "dcgan-discriminator", "wgan-critic"}
    assert set(list_models()) >= expected


@pytest.mark.parametrize("name", list_models())
def test_registry_round_trip_through_checkpoint_metadata(name: str) -> None:
    model = create_model(name)
    metadata = json.loads(json.dumps({"architecture": model.architecture, "config": model.config}))
    assert metadata["architecture"] in list_models()
    rebuilt = model_from_config(metadata["architecture"], metadata["config"])
    assert type(rebuilt) is type(model)
    assert rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict(), strict=True)


# What each registered model saved in config.json while every class wrote its config by hand
# (before sepgan.models.configurable), except FlowSepConv's "corrections", now "with_network".
_SEPCONV_FLAGS = {"input_normalization": False, "kernel_normalization": False, "delayed_padding": False}
_FLOW = {
    "flow_preset": "fine",
    "flow_scale": 16.0,
    "middle_iterations": 1,
    "flow_variants": 4,
    "with_network": True,
    "warp_interpolation": "bilinear",
}
_PATCH = {"channels": [32, 64, 128, 256]}
SAVED_CONFIGS = {
    "sepconv": ("sepconv", {"kernel_size": 51, "channels": [32, 64, 128, 256, 512], **_SEPCONV_FLAGS}),
    "sepconv-lite": ("sepconv", {"kernel_size": 51, "channels": [16, 32, 64, 128, 256], **_SEPCONV_FLAGS}),
    "sepconv-tiny": ("sepconv", {"kernel_size": 5, "channels": [4, 8, 8, 8, 8], **_SEPCONV_FLAGS}),
    "flow-sepconv": ("flow-sepconv", {"kernel_size": 7, "channels": [16, 32, 48, 64, 96], **_FLOW}),
    "flow-sepconv-tiny": ("flow-sepconv", {"kernel_size": 3, "channels": [4, 8, 8, 8, 8], **_FLOW}),
    "dcgan-discriminator": (
        "dcgan-discriminator", {"image_size": 64, "channels": [64, 128, 256, 512], "batch_norm": True}
    ),
    "wgan-critic": ("wgan-critic", {"image_size": 64, "channels": [64, 128, 256, 512]}),
    "patch-discriminator": (
        "patch-discriminator", {**_PATCH, "spectral_norm": True, "normalization": "none", "image_size": None}
    ),
    "patch-critic": (
        "patch-discriminator", {**_PATCH, "spectral_norm": False, "normalization": "none", "image_size": None}
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SAVED_CONFIGS))
def test_recorded_config_is_what_the_hand_written_one_saved(name: str) -> None:
    architecture, saved = SAVED_CONFIGS[name]
    model = create_model(name)
    assert model.architecture == architecture
    # The JSON text, so key order and int vs float (16.0, not 16) count too.
    assert json.dumps(model.config) == json.dumps(saved)


def test_recorded_config_converts_arguments_to_their_annotations() -> None:
    model = create_model("sepconv-tiny", kernel_size=7, channels=(4, 8.0, 8, 8, 8), delayed_padding=1)
    assert json.dumps(model.config) == json.dumps(
        {"kernel_size": 7, "channels": [4, 8, 8, 8, 8], "input_normalization": False,
         "kernel_normalization": False, "delayed_padding": True}
    )  # fmt: skip
    flow = create_model("flow-sepconv-tiny", flow_scale=8, with_network=False)
    assert (flow.config["flow_scale"], flow.config["with_network"]) == (8.0, False)
    patch = create_model("patch-critic", image_size=32)
    assert patch.config["image_size"] == 32 and patch.config["spectral_norm"] is False


def test_register_to_config_refuses_a_constructor_it_could_not_record() -> None:
    from sepgan.models.configurable import register_to_config

    with pytest.raises(TypeError, match="kwargs"):

        @register_to_config
        def __init__(self, width: int = 4, **options) -> None: ...


def test_presets_carry_their_widths() -> None:
    lite = create_model("sepconv-lite")
    assert lite.architecture == "sepconv"
    assert lite.config["channels"] == [16, 32, 64, 128, 256]
    assert lite.max_displacement == 25
    tiny = create_model("sepconv-tiny", delayed_padding=True)
    assert tiny.config["kernel_size"] == 5
    assert tiny.config["delayed_padding"] is True
    assert tiny.max_displacement == 2


def test_unknown_model_name_lists_known_names() -> None:
    with pytest.raises(ValueError, match="sepconv-tiny"):
        create_model("no-such-model")


# --- Discriminators ------------------------------------------------------------------------------


@pytest.mark.parametrize("discriminator_class", [ConditionalDiscriminator, WassersteinCritic])
def test_discriminator_output_shape(discriminator_class: type) -> None:
    discriminator = discriminator_class()
    frame0, frame1 = _frames(3, 64, 64)
    middle = (frame0 + frame1) / 2
    output = discriminator(frame0, middle, frame1)
    assert output.shape == (3,)
    assert torch.isfinite(output).all()


@pytest.mark.parametrize("discriminator_class", [ConditionalDiscriminator, WassersteinCritic])
def test_discriminator_rejects_other_sizes(discriminator_class: type) -> None:
    discriminator = discriminator_class(image_size=32, channels=(8, 16))
    frame0, frame1 = _frames(1, 64, 64)
    with pytest.raises(ValueError, match="32×32"):
        discriminator(frame0, frame0, frame1)
    with pytest.raises(ValueError, match="same shape"):
        discriminator(frame0[..., :32, :32], frame0[..., :32, :32], frame1)
    with pytest.raises(ValueError, match="multiple of 4"):
        discriminator_class(image_size=30, channels=(8, 16))


def test_critic_has_no_batch_norm_and_dcgan_has_it_after_the_first_layer() -> None:
    critic = WassersteinCritic(image_size=32, channels=(8, 16, 32))
    assert not any(isinstance(module, nn.modules.batchnorm._BatchNorm) for module in critic.modules())
    discriminator = ConditionalDiscriminator(image_size=32, channels=(8, 16, 32))
    batch_norms = [module for module in discriminator.modules() if isinstance(module, nn.BatchNorm2d)]
    assert [norm.num_features for norm in batch_norms] == [16, 32]


def test_critic_scores_are_per_sample() -> None:
    # Without batch norm, a sample's score cannot depend on the rest of the batch.
    critic = WassersteinCritic(image_size=32, channels=(8, 16))
    frame0, frame1 = _frames(4, 32, 32)
    scores = critic(frame0, frame1, frame1)
    torch.testing.assert_close(critic(frame0[:1], frame1[:1], frame1[:1]), scores[:1])


@pytest.mark.parametrize("discriminator_class", [ConditionalDiscriminator, WassersteinCritic])
def test_discriminator_config_rebuilds(discriminator_class: type) -> None:
    discriminator = discriminator_class(image_size=32, channels=(8, 16))
    config = json.loads(json.dumps(discriminator.config))
    rebuilt = discriminator_class(**config)
    rebuilt.load_state_dict(discriminator.state_dict(), strict=True)
    assert rebuilt.config == discriminator.config


# --- Patch discriminator ---------------------------------------------------------------------------


def _convs(model: nn.Module) -> list[nn.Conv2d]:
    return [module for module in model.modules() if isinstance(module, nn.Conv2d)]


@pytest.mark.parametrize(("height", "width"), [(16, 48), (40, 8), (24, 32)])
def test_patch_discriminator_scores_one_map_entry_per_patch(height: int, width: int) -> None:
    discriminator = PatchDiscriminator(channels=(4, 8, 8))  # three stride-2 layers: H/8 × W/8
    frame0, frame1 = _frames(2, height, width)
    scores = discriminator(frame0, (frame0 + frame1) / 2, frame1)
    assert scores.shape == (2, height // 8, width // 8)
    assert torch.isfinite(scores).all()


def test_patch_discriminator_rejects_sizes_that_are_not_multiples() -> None:
    discriminator = PatchDiscriminator(channels=(4, 8))
    frame0, frame1 = _frames(1, 16, 18)
    with pytest.raises(ValueError, match="multiples of 4, got \\(1, 3, 16, 18\\)"):
        discriminator(frame0, frame0, frame1)
    with pytest.raises(ValueError, match="same shape"):
        discriminator(frame0[..., :16], frame0[..., :16], frame1)
    with pytest.raises(ValueError, match="B×3×H×W"):
        discriminator(frame0[:, :1, :, :16], frame0[:, :1, :, :16], frame1[:, :1, :, :16])
    with pytest.raises(ValueError, match="multiple of 4 .* got 18"):
        PatchDiscriminator(channels=(4, 8), image_size=18)
    with pytest.raises(ValueError, match="normalization"):
        PatchDiscriminator(channels=(4, 8), normalization="instance")
    with pytest.raises(ValueError, match="channels"):
        PatchDiscriminator(channels=())


def test_patch_discriminator_spectral_norm_shows_in_the_parametrizations() -> None:
    torch.manual_seed(0)
    normed = create_model("patch-discriminator", channels=(4, 8))
    plain = create_model("patch-critic", channels=(4, 8))
    assert normed.config["spectral_norm"] and not plain.config["spectral_norm"]
    assert len(_convs(normed)) == len(_convs(plain)) == 3  # two stride-2 layers and the head
    for conv in _convs(normed):
        assert parametrize.is_parametrized(conv, "weight")
        assert [type(p).__name__ for p in conv.parametrizations.weight] == ["_SpectralNorm"]
        # The weight used is the stored one divided by its largest singular value.
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, rel=1e-2)  # power iteration: an estimate
    assert not any(parametrize.is_parametrized(conv) for conv in _convs(plain))
    assert not any(isinstance(module, nn.modules.batchnorm._BatchNorm) for module in plain.modules())
    batch = PatchDiscriminator(channels=(4, 8, 8), spectral_norm=False, normalization="batch")
    assert [m.num_features for m in batch.modules() if isinstance(m, nn.BatchNorm2d)] == [8, 8]


@pytest.mark.parametrize("name", ["patch-discriminator", "patch-critic"])
def test_patch_discriminator_config_rebuilds_it(name: str, tmp_path) -> None:
    from sepgan.checkpoint import load_pretrained, save_pretrained

    torch.manual_seed(0)
    discriminator = create_model(name, channels=(4, 8), image_size=32)
    frame0, frame1 = _frames(2, 32, 32)
    discriminator(frame0, frame1, frame1)  # a training-mode forward moves spectral norm's vectors
    discriminator.eval()
    config = json.loads(json.dumps(discriminator.config))
    rebuilt = model_from_config(discriminator.architecture, config).eval()
    rebuilt.load_state_dict(discriminator.state_dict(), strict=True)
    assert rebuilt.config == discriminator.config
    loaded = load_pretrained(save_pretrained(discriminator, tmp_path / name))
    with torch.no_grad():
        expected = discriminator(frame0, frame1, frame1)
        torch.testing.assert_close(rebuilt(frame0, frame1, frame1), expected)
        torch.testing.assert_close(loaded(frame0, frame1, frame1), expected)


def test_patch_critic_scores_are_per_sample() -> None:
    # No normalisation: a sample's map cannot depend on the rest of the batch.
    torch.manual_seed(0)
    critic = create_model("patch-critic", channels=(4, 8))
    frame0, frame1 = _frames(4, 16, 24)
    scores = critic(frame0, frame1, frame1)
    torch.testing.assert_close(critic(frame0[2:3], frame1[2:3], frame1[2:3]), scores[2:3])
