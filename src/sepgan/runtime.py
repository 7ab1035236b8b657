"""Device, precision and seeding, decided in one place with the reason logged.

Nothing here runs at import: callers ask for a :class:`Runtime` once (the CLI, a
training run) and pass it down. Conventions: ``precision`` names the autocast
dtype used for the network's convolutions ("fp32", "bf16" or "fp16"); the
separable convolution itself always runs in float32 (see
``sepgan.ops.separable_conv``), because its 2601-tap sums lose too much in
half precision.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from dataclasses import dataclass

import numpy as np
import torch

from sepgan.options import OptionError

logger = logging.getLogger(__name__)

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    precision: str  # key of PRECISIONS
    reason: str

    @property
    def autocast_dtype(self) -> torch.dtype:
        return PRECISIONS[self.precision]

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast for the network body; a no-op in fp32."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)


def resolve_runtime(device: str = "auto", precision: str = "auto") -> Runtime:
    """Pick the device and precision; ``"auto"`` prefers CUDA with bf16, else CPU in fp32."""
    if device == "auto":
        if torch.cuda.is_available():
            chosen, reason = torch.device("cuda"), "CUDA is available"
        else:
            chosen, reason = torch.device("cpu"), "no CUDA device found"
    else:
        try:
            chosen = torch.device(device)
        except RuntimeError:  # torch's message lists twenty device types
            raise OptionError(
                "{device} {value!r}: use auto, cpu, cuda or cuda:N", parameter="device", value=device
            ) from None
        reason = "requested"
        if chosen.type == "cuda" and not torch.cuda.is_available():
            raise OptionError(
                "{device} {value!r} was requested but CUDA is not available", parameter="device", value=device
            )
    if precision == "auto":
        if chosen.type == "cuda":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
            reason += f"; {precision} autocast on GPU"
        else:
            precision = "fp32"
            reason += "; fp32 on CPU (CPU autocast is slower than fp32 for these convolutions)"
    elif precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {sorted(PRECISIONS)} or 'auto'")
    if chosen.type == "cpu" and precision == "fp16":
        raise ValueError("fp16 is not supported on CPU; use fp32 or bf16")
    runtime = Runtime(device=chosen, precision=precision, reason=reason)
    logger.info("runtime: device=%s precision=%s (%s)", chosen, precision, reason)
    return runtime


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """Every RNG state needed to resume a run bit-for-bit, as tensors and plain types.

    Kept free of NumPy objects so that it loads with ``torch.load(weights_only=True)``.
    """
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    state = {
        "python": [python_state[0], list(python_state[1]), python_state[2]],
        "numpy": {
            "keys": torch.from_numpy(numpy_state[1].astype(np.int64)),
            "pos": int(numpy_state[2]),
            "has_gauss": int(numpy_state[3]),
            "cached_gaussian": float(numpy_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def distributed_info() -> tuple[int, int, int]:
    """(rank, local_rank, world_size) from torchrun's environment; (0, 0, 1) otherwise."""
    return (
        int(os.environ.get("RANK", "0")),
        int(os.environ.get("LOCAL_RANK", "0")),
        int(os.environ.get("WORLD_SIZE", "1")),
    )
