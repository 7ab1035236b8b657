"""The fast separable-convolution backends (numba on CPU, Triton on GPU) against the reference.

The numba kernels compile on first use (≈ 20 s for all three in a fresh checkout)
and are cached on disk afterwards. The Triton kernels are checked on CPU through
Triton's interpreter, in a subprocess because ``TRITON_INTERPRET`` must be set
before triton is imported; a real-GPU check runs under the ``gpu`` marker.
"""

import importlib
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F

from sepgan.ops import separable_conv

op_module = importlib.import_module("sepgan.ops.separable_conv")


def padded_inputs(batch, channels, height, width, kernel_size, dtype=torch.float32, seed=0):
    """Replicate-padded frame and softmax-normalised kernels (realistic magnitudes at K = 51)."""
    generator = torch.Generator().manual_seed(seed)
    frame = torch.rand(batch, channels, height, width, generator=generator, dtype=dtype)
    kernel_vertical = torch.randn(
        batch, kernel_size, height, width, generator=generator, dtype=dtype
    ).softmax(1)
    kernel_horizontal = torch.randn(
        batch, kernel_size, height, width, generator=generator, dtype=dtype
    ).softmax(1)
    pad = kernel_size // 2
    padded = F.pad(frame, (pad, pad, pad, pad), mode="replicate").contiguous()
    return padded, kernel_vertical, kernel_horizontal


def relative_error(fast, reference):
    return ((fast.double() - reference).abs().max() / reference.abs().max().clamp_min(1e-30)).item()


# Shapes cross the numba tiles (≈ 256 output columns, ≈ 768 padded columns for the frame
# gradient) and frame-gradient bands (32 padded rows), split columns into unequal tiles,
# use channel counts that are not a multiple of three, and K from 1 to 51.
SHAPES = [
    ((1, 3, 8, 8), 1),
    ((2, 3, 7, 11), 3),
    ((1, 1, 9, 13), 5),
    ((2, 4, 5, 6), 3),
    ((1, 3, 70, 300), 3),
    ((1, 2, 12, 20), 51),
    ((1, 3, 19, 270), 51),
    ((1, 2, 6, 790), 51),
    ((1, 3, 180, 1000), 3),  # outputs over 2 MB: the huge-page allocation path
]
TOLERANCE = 1e-4  # relative to the largest magnitude; float32 sums of up to 2601 taps


@pytest.fixture(scope="module")
def numba_backend():
    pytest.importorskip("numba")
    return importlib.import_module("sepgan.ops.separable_conv_cpu")


@pytest.mark.parametrize("shape,kernel_size", SHAPES)
def test_numba_forward_and_gradients_match_reference(numba_backend, shape, kernel_size):
    padded, kernel_vertical, kernel_horizontal = padded_inputs(*shape, kernel_size, seed=kernel_size)
    reference_inputs = [t.double() for t in (padded, kernel_vertical, kernel_horizontal)]
    expected = op_module._reference_forward(*reference_inputs)
    assert (
        relative_error(numba_backend.forward(padded, kernel_vertical, kernel_horizontal), expected)
        < TOLERANCE
    )

    grad_out = torch.randn(expected.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected_grads = op_module._reference_backward(grad_out, *reference_inputs)
    grads = numba_backend.backward(grad_out.float(), padded, kernel_vertical, kernel_horizontal)
    for name, grad, expected_grad in zip(
        ("frame", "vertical", "horizontal"), grads, expected_grads, strict=True
    ):
        assert grad.shape == expected_grad.shape and grad.dtype == torch.float32, name
        assert relative_error(grad, expected_grad) < TOLERANCE, name


def test_numba_backward_returns_only_what_is_needed(numba_backend):
    padded, kernel_vertical, kernel_horizontal = padded_inputs(1, 3, 6, 7, 3)
    grad_out = torch.randn(1, 3, 6, 7)
    full = numba_backend.backward(grad_out, padded, kernel_vertical, kernel_horizontal)
    grads = numba_backend.backward(grad_out, padded, kernel_vertical, kernel_horizontal, (False, True, False))
    assert grads[0] is None and grads[2] is None
    assert torch.equal(grads[1], full[1])


def test_auto_picks_numba_for_cpu_float32_only(numba_backend):
    padded, kernel_vertical, kernel_horizontal = padded_inputs(1, 3, 4, 4, 3)
    assert op_module.select_backend("auto", padded, kernel_vertical, kernel_horizontal).name == "numba"
    as_double = [t.double() for t in (padded, kernel_vertical, kernel_horizontal)]
    assert op_module.select_backend("auto", *as_double).name == "reference"
    with pytest.raises(ValueError, match="cannot run"):
        op_module.select_backend("numba", *as_double)


@pytest.mark.parametrize("kernel_size", [3, 51])
def test_numba_autograd_matches_reference_autograd(numba_backend, kernel_size):
    generator = torch.Generator().manual_seed(kernel_size)
    shape = (2, 3, 9, 14)
    frame = torch.rand(shape, generator=generator)
    kernel_vertical = torch.randn(2, kernel_size, 9, 14, generator=generator).softmax(1)
    kernel_horizontal = torch.randn(2, kernel_size, 9, 14, generator=generator).softmax(1)
    weight = torch.randn(shape, generator=generator)

    def run(backend, dtype):
        inputs = [t.to(dtype).clone().requires_grad_() for t in (frame, kernel_vertical, kernel_horizontal)]
        out = separable_conv(*inputs, backend=backend)
        (out * weight.to(dtype)).sum().backward()
        return out, [t.grad for t in inputs]

    out, grads = run("auto", torch.float32)
    expected, expected_grads = run("reference", torch.float64)
    assert relative_error(out, expected) < TOLERANCE
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        assert relative_error(grad, expected_grad) < TOLERANCE


# Runs in a fresh interpreter with TRITON_INTERPRET=1; prints the relative errors as JSON.
TRITON_INTERPRETER_CHECK = textwrap.dedent(
    """
    import json, sys
    import torch
    from sepgan.ops import separable_conv

    errors = {}
    for batch, height, width, kernel_size in [(1, 7, 11, 3), (2, 6, 9, 5)]:
        generator = torch.Generator().manual_seed(kernel_size)
        frame = torch.rand(batch, 3, height, width, generator=generator)
        kernels = [
            torch.randn(batch, kernel_size, height, width, generator=generator).softmax(1) for _ in "vh"
        ]
        weight = torch.randn(batch, 3, height, width, generator=generator)
        results = {}
        for backend, dtype in (("triton", torch.float32), ("reference", torch.float64)):
            inputs = [t.to(dtype).clone().requires_grad_() for t in (frame, *kernels)]
            out = separable_conv(*inputs, backend=backend)
            (out * weight.to(dtype)).sum().backward()
            results[backend] = [out.double()] + [t.grad.double() for t in inputs]
        errors[f"{batch}x3x{height}x{width} K={kernel_size}"] = [
            ((a - b).abs().max() / b.abs().max()).item()
            for a, b in zip(results["triton"], results["reference"], strict=True)
        ]
    print(json.dumps(errors))
    """
)


@pytest.mark.slow
def test_triton_interpreter_matches_reference():
    pytest.importorskip("triton")
    environment = {**os.environ, "TRITON_INTERPRET": "1"}
    result = subprocess.run(
        [sys.executable, "-c", TRITON_INTERPRETER_CHECK],
        env=environment,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    for case, case_errors in errors.items():
        # out, grad frame, grad vertical, grad horizontal
        assert max(case_errors) < TOLERANCE, (case, case_errors)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("shape,kernel_size", [((2, 3, 37, 70), 5), ((1, 3, 64, 96), 51)])
def test_triton_on_gpu_matches_reference(shape, kernel_size):
    pytest.importorskip("triton")
    batch, _, height, width = shape
    generator = torch.Generator().manual_seed(kernel_size)
    frame = torch.rand(shape, generator=generator)
    kernel_vertical = torch.randn(batch, kernel_size, height, width, generator=generator).softmax(1)
    kernel_horizontal = torch.randn(batch, kernel_size, height, width, generator=generator).softmax(1)
    weight = torch.randn(shape, generator=generator)

    def run(backend, device, dtype):
        inputs = [
            t.to(device, dtype).clone().requires_grad_() for t in (frame, kernel_vertical, kernel_horizontal)
        ]
        out = separable_conv(*inputs, backend=backend)
        (out * weight.to(device, dtype)).sum().backward()
        return [out.double().cpu()] + [t.grad.double().cpu() for t in inputs]

    cuda_inputs = [t.cuda() for t in (frame, kernel_vertical, kernel_horizontal)]
    padded = F.pad(cuda_inputs[0], (kernel_size // 2,) * 4, mode="replicate")
    assert op_module.select_backend("auto", padded, *cuda_inputs[1:]).name == "triton"
    fast = run("auto", "cuda", torch.float32)
    expected = run("reference", "cpu", torch.float64)
    for name, a, b in zip(("out", "frame", "vertical", "horizontal"), fast, expected, strict=True):
        assert relative_error(a, b) < TOLERANCE, name
