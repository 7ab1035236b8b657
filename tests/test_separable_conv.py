"""The separable local convolution against a literal loop, plus gradients."""

import importlib

import pytest
import torch

from sepgan.ops import available_backends, separable_conv, separable_conv_naive

# The package re-exports the function under the module's name, so fetch the module itself.
op_module = importlib.import_module("sepgan.ops.separable_conv")
BACKENDS = op_module.BACKENDS


def naive_pixel_loop(frame, kernel_vertical, kernel_horizontal):
    """out(b,c,y,x) = Σ_i Σ_j kv(b,i,y,x)·kh(b,j,y,x)·P(b,c,y+i,x+j), one pixel at a time."""
    batch, channels, height, width = frame.shape
    kernel_size = kernel_vertical.shape[1]
    pad = kernel_size // 2
    out = torch.zeros_like(frame)

    def padded(b, c, row, col):  # replicate padding by clamping the index
        return frame[b, c, min(max(row - pad, 0), height - 1), min(max(col - pad, 0), width - 1)]

    for b in range(batch):
        for c in range(channels):
            for y in range(height):
                for x in range(width):
                    total = 0.0
                    for i in range(kernel_size):
                        for j in range(kernel_size):
                            total += (
                                kernel_vertical[b, i, y, x]
                                * kernel_horizontal[b, j, y, x]
                                * padded(b, c, y + i, x + j)
                            )
                    out[b, c, y, x] = total
    return out


def random_inputs(batch, channels, height, width, kernel_size, dtype=torch.float32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    frame = torch.rand(batch, channels, height, width, generator=generator, dtype=dtype)
    kernel_vertical = torch.randn(batch, kernel_size, height, width, generator=generator, dtype=dtype)
    kernel_horizontal = torch.randn(batch, kernel_size, height, width, generator=generator, dtype=dtype)
    return frame, kernel_vertical, kernel_horizontal


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_matches_pixel_loop(kernel_size):
    inputs = random_inputs(2, 3, 5, 6, kernel_size)
    expected = naive_pixel_loop(*inputs)
    assert torch.allclose(separable_conv(*inputs, backend="reference"), expected, atol=1e-5)


@pytest.mark.parametrize(
    "shape,kernel_size",
    [((1, 3, 8, 8), 1), ((2, 3, 7, 11), 3), ((1, 2, 16, 9), 5), ((2, 3, 12, 20), 51), ((1, 1, 60, 33), 51)],
)
def test_matches_tap_loop(shape, kernel_size):
    inputs = random_inputs(*shape, kernel_size, seed=kernel_size)
    # Kernels that sum to roughly one keep float32 magnitudes realistic at K = 51.
    frame, kernel_vertical, kernel_horizontal = inputs
    kernel_vertical = torch.softmax(kernel_vertical, 1)
    kernel_horizontal = torch.softmax(kernel_horizontal, 1)
    expected = separable_conv_naive(frame.double(), kernel_vertical.double(), kernel_horizontal.double())
    out = separable_conv(frame, kernel_vertical, kernel_horizontal, backend="reference")
    assert out.dtype == torch.float32
    assert (out.double() - expected).abs().max() < 1e-5


@pytest.mark.slow
def test_naive_tap_loop_matches_pixel_loop_at_k51_border():
    # K = 51 on a 4×5 image: every tap reads the replicate-padded border.
    inputs = random_inputs(1, 2, 4, 5, 51, dtype=torch.float64, seed=3)
    assert torch.allclose(separable_conv_naive(*inputs), naive_pixel_loop(*inputs), atol=1e-9)


def test_delta_kernels_shift_the_frame():
    # A delta at offset (+2, -1) reads P(y+2, x-1): the frame moved up by 2 and right by 1.
    frame = torch.rand(1, 3, 12, 14)
    kernel_size, centre = 7, 3
    kernel_vertical = torch.zeros(1, kernel_size, 12, 14)
    kernel_horizontal = torch.zeros(1, kernel_size, 12, 14)
    kernel_vertical[:, centre + 2] = 1
    kernel_horizontal[:, centre - 1] = 1
    out = separable_conv(frame, kernel_vertical, kernel_horizontal)
    assert torch.equal(out[:, :, :-2, 1:], frame[:, :, 2:, :-1])


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_gradcheck_float64(kernel_size):
    inputs = [t.requires_grad_() for t in random_inputs(2, 2, 4, 5, kernel_size, dtype=torch.float64)]
    assert torch.autograd.gradcheck(
        lambda f, v, h: separable_conv(f, v, h, backend="reference"), inputs, eps=1e-6, atol=1e-6
    )


def test_gradients_match_autograd_of_naive_loop_k51():
    inputs = random_inputs(1, 3, 9, 7, 51, dtype=torch.float64, seed=5)
    ours = [t.clone().requires_grad_() for t in inputs]
    theirs = [t.clone().requires_grad_() for t in inputs]
    weight = torch.randn(1, 3, 9, 7, dtype=torch.float64)
    (separable_conv(*ours, backend="reference") * weight).sum().backward()
    (separable_conv_naive(*theirs) * weight).sum().backward()
    for mine, reference in zip(ours, theirs, strict=True):
        assert torch.allclose(mine.grad, reference.grad, atol=1e-9)


def test_partial_gradients_only_compute_what_is_needed():
    frame, kernel_vertical, kernel_horizontal = random_inputs(1, 3, 6, 6, 3, dtype=torch.float64)
    kernel_vertical.requires_grad_()
    separable_conv(frame, kernel_vertical, kernel_horizontal).sum().backward()
    assert kernel_vertical.grad is not None and frame.grad is None and kernel_horizontal.grad is None


def test_banding_gives_the_same_result(monkeypatch):
    # Force one-row bands so the banded path and its seams are exercised.
    inputs = [t.requires_grad_() for t in random_inputs(2, 3, 9, 10, 5, dtype=torch.float64, seed=9)]
    whole = separable_conv(*inputs)
    whole_grads = torch.autograd.grad(whole.square().sum(), inputs)
    monkeypatch.setattr(op_module, "REFERENCE_TILE_BYTES", 1)
    banded = separable_conv(*inputs)
    banded_grads = torch.autograd.grad(banded.square().sum(), inputs)
    assert torch.allclose(whole, banded, atol=1e-12)
    for a, b in zip(whole_grads, banded_grads, strict=True):
        assert torch.allclose(a, b, atol=1e-10)


def test_reference_memory_stays_bounded_at_1080p():
    # The reference never needs a C·K²·H·W buffer (3·51²·1080·1920·4 B ≈ 64 GB);
    # its largest temporary is one band of C·K·rows·W.
    batch, channels, kernel_size, width = 1, 3, 51, 1920
    rows = op_module._band_rows(batch, channels, kernel_size, width, 4)
    band_bytes = batch * channels * kernel_size * rows * width * 4
    assert band_bytes <= op_module.REFERENCE_TILE_BYTES
    assert rows >= 16  # bands stay large enough to be efficient


@pytest.mark.parametrize(
    "frame_shape,kernel_shape,message",
    [
        ((1, 3, 8, 8), (1, 4, 8, 8), "odd"),
        ((1, 3, 8, 8), (1, 3, 8, 9), "do not match"),
        ((3, 8, 8), (1, 3, 8, 8), "B×C×H×W"),
    ],
)
def test_bad_shapes_are_rejected(frame_shape, kernel_shape, message):
    with pytest.raises(ValueError, match=message):
        separable_conv(torch.rand(frame_shape), torch.rand(kernel_shape), torch.rand(kernel_shape))


def test_dispatch_auto_falls_back_to_reference_and_unknown_backend_errors():
    assert available_backends()[-1] == "reference"
    assert "reference" in BACKENDS
    inputs = random_inputs(1, 3, 4, 4, 3)
    assert torch.allclose(
        separable_conv(*inputs, backend="auto"), separable_conv(*inputs, backend="reference")
    )
    with pytest.raises(ValueError, match="unknown separable_conv backend"):
        separable_conv(*inputs, backend="no-such-backend")


def test_half_precision_inputs_compute_in_float32():
    frame, kernel_vertical, kernel_horizontal = random_inputs(1, 3, 8, 8, 5)
    expected = separable_conv(frame, kernel_vertical, kernel_horizontal)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = separable_conv(frame, kernel_vertical.bfloat16(), kernel_horizontal.bfloat16())
    assert out.dtype == torch.float32
    # Only the bf16 rounding of the kernels differs, not the accumulation.
    assert torch.allclose(out, expected, rtol=0.05, atol=0.05)
