"""Classical optical flow (OpenCV DIS) and flow warping, for the flow-guided model and the flow baselines.

Conventions
-----------
* A flow field is B×2×H×W (torch) or H×W×2 (numpy), float32, in pixels of the
  frame it is stored at; channel 0 is x (right), channel 1 is y (down).
* ``flow01`` lives at frame0's pixels and says where each of them went in
  frame1; ``flow10`` is the reverse. :func:`estimate_flows` returns both,
  stacked as a B×4×H×W tensor ``cat(flow01, flow10)``, or, for a flow
  ensemble of V variants, B×4V×H×W: V such groups one after another
  (:data:`FLOW_VARIANTS`, :func:`split_variants`).
* Backward warping: ``warp(image, flow)(x) = image(x + flow(x))``, bilinear,
  with edge pixels replicated outside the frame (OpenCV ``remap`` with
  ``BORDER_REPLICATE`` in numpy, ``grid_sample`` with ``padding_mode="border"``
  in torch; the two agree to within OpenCV's 1/32 px fixed-point weights).
* Images are RGB; torch images are float in [0, 1], B×C×H×W; numpy images are
  H×W×3 uint8 or float32 on [0, 255].

The middle frame (t = 0.5) is approximated by half-flow backward warps:
frame0 is sampled at ``x + flow10(x) / 2`` and frame1 at ``x + flow01(x) / 2``.
It assumes the flow at a pixel of the middle frame equals the flow at the same
pixel of the other input, which holds for smooth motion and fails at motion
boundaries. :func:`middle_flows` can refine that by a fixed point, and the
flow-guided model learns to correct what is left. The same holds at any time t
in (0, 1) (:func:`flows_at_time`): frame0 is sampled at ``x + t · flow10(x)``
and frame1 at ``x + (1 − t) · flow01(x)``, and the two warps are blended by
nearness in time (:func:`blend_at_time`). One pair of flows then makes every
frame between two inputs (×3, 25 → 60 fps) without recursive bisection.

DIS (Kroeger et al., ECCV 2016) needs no weights. OpenCV's MEDIUM preset stops
at half resolution (finest scale 1); "fine" continues to full resolution.
Measured on the dev sets with half-flow warps refined by one fixed-point
iteration and averaged (2 busy CPU cores, both directions): MEDIUM 34.30 /
26.49 dB on middlebury-other / davis in ≈ 0.1 s per pair, "fine" 34.75 / 26.59
dB in ≈ 0.4 s; the plain half-flow average with MEDIUM scores 34.16 / 26.34.

Flow ensemble (test-time augmentation). DIS errs differently on mirrored
inputs: its patches sit on a grid and its coarse-to-fine search and
propagation run in scan order. Running it on the pair flipped horizontally,
vertically and both, flipping the flows back, and averaging the middle frames
that the V variants give (:func:`ensemble_warps`) measured, with
"fine" and one fixed-point step: 34.90 / 26.91 dB (SSIM 0.9527 / 0.8382) for
V = 4 against 34.75 / 26.59 (0.9520 / 0.8334) for V = 1, and 34.86 / 26.82
for V = 2 (no flip + both flips). V = 4 costs 8 DIS calls per pair instead of
2 (≈ 0.7 s instead of 0.22 s at 640×480 on 2 cores). The calls run in a pool
of ``workers`` threads: by default one per CPU the process may use
(:func:`flow_workers`); ``workers=1`` runs them one after another in the
calling thread (``sepgan interpolate --workers``).
"""

from __future__ import annotations

import math
import queue
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

from sepgan import options
from sepgan.media.colour import round_to_8bit
from sepgan.media.frames import from_uint8, to_uint8
from sepgan.memory import cpu_count

__all__ = [
    "DIS_PRESETS",
    "WARP_INTERPOLATIONS",
    "FLOW_VARIANTS",
    "backward_warp",
    "backward_warp_numpy",
    "check_warp_interpolation",
    "check_workers",
    "consistency_error",
    "dis_estimator",
    "dis_flow",
    "dis_padded_size",
    "blend_at_time",
    "ensemble_warps",
    "estimate_flows",
    "fill_out_of_frame",
    "flow_ensemble_numpy",
    "flow_failed",
    "flow_workers",
    "inside_frame",
    "mean_over_variants",
    "flows_at_time",
    "neighbour_flows",
    "grey",
    "middle_flows",
    "split_variants",
    "stack_times",
    "stack_variants",
]

# OpenCV's presets, plus "fine": MEDIUM refined down to full resolution (finest scale 0).
DIS_PRESETS = ("ultrafast", "fast", "medium", "fine")
# Mirrorings of the input pair for a flow ensemble, in the order an ensemble of V takes them:
# V = 2 adds the 180° rotation, which beat a single flip (34.86 / 26.82 vs 34.81 / 26.79 dB).
# The range of an ensemble's size, 1 to len(FLOW_VARIANTS), is checked by
# sepgan.options.check_flow_variants (MAX_FLOW_VARIANTS).
FLOW_VARIANTS = ("none", "hv", "h", "v")


def _cv2():
    try:
        import cv2
    except ImportError as error:  # a core dependency; only a broken install lands here
        raise RuntimeError("OpenCV is not installed (pip install opencv-python-headless)") from error
    return cv2


def dis_estimator(preset: str = "medium"):
    """An OpenCV DIS object (``cv2.DISOpticalFlow``) set up for ``preset``, to pass to :func:`dis_flow`.

    It keeps its buffers (image pyramids, the variational refinement's
    derivatives and weights: ≈ 200 bytes a pixel for "fine") from one call to
    the next, so reusing one for frames of one size saves their allocation and
    page faults (≈ 10% of the CPU time of 8 calls at 1080p on 2 cores) and
    gives the same flow. One object serves one thread at a time.
    """
    cv2 = _cv2()
    if preset not in DIS_PRESETS:
        raise ValueError(f"unknown DIS preset {preset!r}; choose from {', '.join(DIS_PRESETS)}")
    base = "medium" if preset == "fine" else preset
    dis = cv2.DISOpticalFlow_create(getattr(cv2, f"DISOPTICAL_FLOW_PRESET_{base.upper()}"))
    if preset == "fine":
        dis.setFinestScale(0)
    return dis


def dis_flow(source: np.ndarray, destination: np.ndarray, preset: str = "medium", *, dis=None) -> np.ndarray:
    """DIS optical flow from ``source`` to ``destination`` (H×W×3 RGB uint8 or uint16, or H×W grey as
    :func:`grey` makes it) as H×W×2 float32 pixels.

    Frames of any size, 1×1 included: small ones are padded first (:func:`dis_padded_size`).
    ``dis``: an object from :func:`dis_estimator` for the same ``preset``, reused (None: a new one).
    """
    cv2 = _cv2()
    if dis is None:
        dis = dis_estimator(preset)
    gray_source, gray_destination = grey(source), grey(destination)
    height, width = gray_source.shape
    padded_height, padded_width = dis_padded_size(height, width, dis.getPatchSize(), dis.getFinestScale())
    if (padded_height, padded_width) == (height, width):
        return dis.calc(gray_source, gray_destination, None)
    pad = {"top": 0, "bottom": padded_height - height, "left": 0, "right": padded_width - width}
    flow = dis.calc(
        cv2.copyMakeBorder(gray_source, borderType=cv2.BORDER_REPLICATE, **pad),
        cv2.copyMakeBorder(gray_destination, borderType=cv2.BORDER_REPLICATE, **pad),
        None,
    )
    return np.ascontiguousarray(flow[:height, :width])


def grey(image: np.ndarray) -> np.ndarray:
    """The H×W uint8 grey image DIS reads: OpenCV's RGB → grey of an H×W×3 RGB uint8 image (an
    H×W one is taken as grey already). A uint16 image (deeper video) is first rounded to 8-bit levels
    (:func:`~sepgan.media.colour.round_to_8bit`), since DIS reads uint8: the same picture, the same flow."""
    image = np.ascontiguousarray(round_to_8bit(image))
    return image if image.ndim == 2 else _cv2().cvtColor(image, _cv2().COLOR_RGB2GRAY)


def _dis_coarsest_scale(height: int, width: int, patch_size: int) -> int:
    """The coarsest pyramid level OpenCV's DIS picks for an H×W frame (its own formula, dis_flow.cpp)."""
    by_motion = int(
        math.log(max(height, width) / (4.0 * patch_size)) / math.log(2.0) + 0.5
    )  # int() truncates,
    by_patch = int(math.log(min(height, width) / patch_size) / math.log(2.0))  # as C's cast does
    return min(by_motion, by_patch)


def dis_padded_size(height: int, width: int, patch_size: int, finest_scale: int) -> tuple[int, int]:
    """The size (H, W) to pad a frame to, bottom and right, before OpenCV's DIS; (H, W) itself when
    big enough.

    DIS builds a pyramid from the frame's size. Below 12 px on the longer side
    it raises; and when its coarsest level falls below the preset's finest
    (a short side under ``patch_size · 2^finest_scale``: 16 px for MEDIUM, 32
    for FAST; or a longer side under ≈ 46 px for MEDIUM), it re-picks its
    scales from the width alone and reads outside its buffers: 40×11 or
    200×12 frames crash the process with MEDIUM. Padding with replicated edges
    up to the size where the preset's own scales hold avoids both; the flow is
    then cropped back. No preset pads a frame with at least 32 px on its shorter
    side and 91 on its longer ("fine": 8 and 12).
    """
    side = patch_size * 2**finest_scale  # the finest level must hold one patch
    padded_height, padded_width = max(height, side), max(width, side)
    while _dis_coarsest_scale(padded_height, padded_width, patch_size) < finest_scale:
        if padded_width >= padded_height:
            padded_width += 1
        else:
            padded_height += 1
    return padded_height, padded_width


def backward_warp_numpy(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``out(x) = image(x + flow(x))`` for H×W×C float32 ``image`` and H×W×2 ``flow`` (OpenCV remap)."""
    cv2 = _cv2()
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(
        image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def flow_failed(
    frames: tuple[np.ndarray, np.ndarray, np.ndarray], flows: tuple[np.ndarray, np.ndarray]
) -> tuple[bool, np.ndarray]:
    """Whether flow fails on a triplet, and the per-pixel error (H×W, levels) of the flow baseline.

    ``frames``: (frame0, frame1, target), H×W×3 uint8 or float in levels;
    ``flows``: (flow01, flow10), H×W×2 pixels. The baseline warps both inputs
    half way (``backward_warp_numpy``) and averages them. Flow fails when the
    baseline's mean error from the target exceeds the inputs' mean difference:
    the middle frame is further from the flow-warped middle than the ends are
    apart. ``sepgan prepare`` and ``--adapt`` skip such triplets.
    """
    frame0, frame1, target = (f.astype(np.float32) for f in frames)
    flow01, flow10 = flows
    baseline = 0.5 * (backward_warp_numpy(frame0, 0.5 * flow10) + backward_warp_numpy(frame1, 0.5 * flow01))
    error = np.abs(baseline - target).mean(axis=2)
    return bool(error.mean() > np.abs(frame1 - frame0).mean()), error


def _mirror(image: np.ndarray, variant: str) -> np.ndarray:
    """H×W or H×W×C ``image`` mirrored left–right ("h"), upside down ("v"), both ("hv") or not ("none")."""
    if "h" in variant:
        image = image[:, ::-1]
    if "v" in variant:
        image = image[::-1]
    return np.ascontiguousarray(image)


def _unmirror_flow_into(target: np.ndarray, flow: np.ndarray, variant: str) -> None:
    """A H×W×2 flow computed on mirrored images, brought back to the original frame and written
    into the 2×H×W ``target`` (no copy on the way)."""
    if "h" in variant:  # mirroring is its own inverse
        flow = flow[:, ::-1]
    if "v" in variant:
        flow = flow[::-1]
    target[...] = flow.transpose(2, 0, 1)
    if "h" in variant:
        target[0] *= -1.0
    if "v" in variant:
        target[1] *= -1.0


def flow_ensemble_numpy(
    image0: np.ndarray,
    image1: np.ndarray,
    preset: str = "medium",
    variants: int = 1,
    workers: int | None = None,
    backend: str = "opencv",
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """DIS flow both ways for one H×W×3 RGB uint8 pair as a 4V×H×W float32 array
    (see :func:`estimate_flows`).

    ``backend`` as in :func:`estimate_flows`, resolved against ``device``: with "torch"
    (or "auto" on CUDA and MPS) the pair runs through
    :func:`sepgan.dis_torch.dense_inverse_search` on ``device`` and the flows come back
    to the CPU; else OpenCV on the CPU (``device`` unused).
    """
    device = torch.device(device)
    if options.resolve_flow_backend(backend, device.type) == "torch":
        frame0, frame1 = (from_uint8(image)[None].to(device) for image in (image0, image1))
        return estimate_flows(frame0, frame1, preset, variants, backend="torch")[0].cpu().numpy()
    return _flow_ensembles([image0], [image1], preset, variants, workers)[0]


def check_workers(workers: int | None) -> int:
    """Threads for DIS: ``workers``, or :func:`flow_workers` when None; ValueError below 1."""
    if workers is None:
        return flow_workers()
    return int(options.check_workers(workers))


def _flow_ensembles(images0, images1, preset: str, variants: int, workers: int | None = None) -> np.ndarray:
    options.check_flow_variants(variants, "variants")
    threads = check_workers(workers)
    flows = np.empty((len(images0), 4 * variants, *images0[0].shape[:2]), dtype=np.float32)

    # One DIS object per thread at most, reused from call to call (dis_estimator) and dropped at the
    # end, so that its buffers are freed before the network runs on these flows.
    estimators: queue.SimpleQueue = queue.SimpleQueue()
    # Grey once per image, not per call: a mirrored grey image is the grey of the mirrored one, and a
    # third of its size.
    greys0, greys1 = [grey(image) for image in images0], [grey(image) for image in images1]

    def one(job: tuple[int, int, int]) -> None:
        index, variant, direction = job
        name = FLOW_VARIANTS[variant]
        source, destination = (
            (greys0[index], greys1[index]) if direction == 0 else (greys1[index], greys0[index])
        )
        try:
            dis = estimators.get_nowait()
        except queue.Empty:
            dis = dis_estimator(preset)
        flow = dis_flow(_mirror(source, name), _mirror(destination, name), preset, dis=dis)
        estimators.put(dis)
        channel = 4 * variant + 2 * direction
        _unmirror_flow_into(flows[index, channel : channel + 2], flow, name)

    jobs = [(i, v, d) for i in range(len(images0)) for v in range(variants) for d in (0, 1)]
    threads = min(len(jobs), threads)
    if threads > 1:  # OpenCV releases the GIL, so the DIS calls run on every core the process may use
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, jobs))
    else:
        for job in jobs:
            one(job)
    return flows


def flow_workers() -> int:
    """Default threads for a batch's DIS calls: the CPUs this process may run on (its affinity set,
    as ``taskset`` limits it).

    Was a constant 2. On 2 cores it measured the same for the 8 calls of a
    four-variant ensemble and 8% faster for the 2 calls of one variant
    (0.17 s instead of 0.18–0.19 s per 640×480 pair).
    """
    return cpu_count()


def estimate_flows(
    frame0: torch.Tensor,
    frame1: torch.Tensor,
    preset: str = "medium",
    variants: int = 1,
    workers: int | None = None,
    backend: str = "opencv",
) -> torch.Tensor:
    """DIS flow both ways for a batch: B×3×H×W frames in [0, 1] → B×4V×H×W flows.

    With ``variants=1`` that is ``cat(flow01, flow10)``. With V > 1 it is a
    flow ensemble: group v holds the same two flows estimated on the pair
    mirrored by ``FLOW_VARIANTS[v]`` and mirrored back (module docstring).
    ``backend`` (:data:`sepgan.options.FLOW_BACKENDS`): "opencv" runs OpenCV on
    the CPU (frames are rounded to uint8 grey first; the 2·V calls per pair run
    in ``workers`` threads, by default :func:`flow_workers`); "torch" runs
    :func:`sepgan.dis_torch.dense_inverse_search` on the frames' device, all
    2·V·B calls as one batch (``workers`` unused); "auto" is torch on CUDA and
    MPS, OpenCV on the CPU. Returns float32 flows on the frames' device. Not
    differentiable. ValueError (an :class:`~sepgan.options.OptionError`) for
    an unknown backend.
    """
    if frame0.shape != frame1.shape or frame0.dim() != 4 or frame0.shape[1] != 3:
        raise ValueError(
            f"expected two B×3×H×W frames of one shape, got {tuple(frame0.shape)} and {tuple(frame1.shape)}"
        )
    if options.resolve_flow_backend(backend, frame0.device.type) == "torch":
        return _flow_ensembles_torch(frame0, frame1, preset, variants)
    images0, images1 = to_uint8(frame0.detach()), to_uint8(frame1.detach())  # B×H×W×3, the project's rounding
    return torch.from_numpy(_flow_ensembles(images0, images1, preset, variants, workers)).to(frame0.device)


def _flow_ensembles_torch(
    frame0: torch.Tensor, frame1: torch.Tensor, preset: str, variants: int
) -> torch.Tensor:
    """:func:`estimate_flows` with the torch backend: the V mirrorings × 2 directions × B pairs in one
    :func:`~sepgan.dis_torch.dense_inverse_search` call on the frames' device."""
    from sepgan.dis_torch import dense_inverse_search, grey_levels

    options.check_flow_variants(variants, "variants")
    grey0, grey1 = grey_levels(frame0), grey_levels(frame1)  # B×1×H×W, OpenCV's grey of the uint8 frames
    dims = [_mirror_dims(FLOW_VARIANTS[variant]) for variant in range(variants)]
    sources = [torch.flip(image, d) for d in dims for image in (grey0, grey1)]
    destinations = [torch.flip(image, d) for d in dims for image in (grey1, grey0)]
    flows = dense_inverse_search(torch.cat(sources), torch.cat(destinations), preset)  # (V·2·B)×2×H×W
    batch = frame0.shape[0]
    groups = []
    for index in range(2 * variants):  # group index = 2·variant + direction, as the channels are ordered
        d = dims[index // 2]
        flow = torch.flip(flows[index * batch : (index + 1) * batch], d)
        sign = torch.tensor([-1.0 if 3 in d else 1.0, -1.0 if 2 in d else 1.0], device=flow.device)
        groups.append(flow * sign[:, None, None])
    return torch.cat(groups, dim=1)


def _mirror_dims(variant: str) -> list[int]:
    """The B×C×H×W dimensions that ``variant`` mirrors: 3 (left–right) for "h", 2 (upside down) for "v"."""
    return [dim for letter, dim in (("h", 3), ("v", 2)) if letter in variant]


def split_variants(flows: torch.Tensor) -> list[torch.Tensor]:
    """The B×4×H×W ``cat(flow01, flow10)`` groups of a B×4V×H×W flow ensemble."""
    if flows.dim() != 4 or flows.shape[1] % 4 or flows.shape[1] == 0:
        raise ValueError(
            f"expected B×4V×H×W flows (V ≥ 1 groups of flow01, flow10), got {tuple(flows.shape)}"
        )
    return list(flows.split(4, dim=1))


def _base_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    ys = torch.arange(height, device=device, dtype=torch.float32)
    xs = torch.arange(width, device=device, dtype=torch.float32)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y])  # 2×H×W


def _positions(flow: torch.Tensor) -> torch.Tensor:
    """B×2×H×W sample positions ``x + flow(x)`` in pixels."""
    return _base_grid(*flow.shape[-2:], flow.device) + flow.float()


WARP_INTERPOLATIONS = ("bilinear", "bicubic")  # how ensemble_warps samples the frames (grid_sample's modes)


def check_warp_interpolation(interpolation: str) -> str:
    """``interpolation`` if it is one of :data:`WARP_INTERPOLATIONS`; ValueError otherwise."""
    if interpolation not in WARP_INTERPOLATIONS:
        raise ValueError(
            f"unknown warp interpolation {interpolation!r}; choose from {', '.join(WARP_INTERPOLATIONS)}"
        )
    return interpolation


def _warp_at(image: torch.Tensor, position: torch.Tensor, interpolation: str = "bilinear") -> torch.Tensor:
    """``image`` sampled at B×2×H×W pixel positions, edges replicated; ``interpolation``: "bilinear"
    or "bicubic" (Keys' cubic convolution, a = −0.75, as ``torch.nn.functional.grid_sample``; it
    may overshoot the image's range slightly)."""
    height, width = image.shape[-2:]
    # grid_sample wants (x, y) in [-1, 1] with -1 and 1 at the centres of the edge pixels (align_corners).
    scale = torch.tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)], device=image.device)
    grid = (position * scale[:, None, None] - 1.0).permute(0, 2, 3, 1)
    return F.grid_sample(image.float(), grid, mode=interpolation, padding_mode="border", align_corners=True)


def backward_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``out(x) = image(x + flow(x))``: B×C×H×W image, B×2×H×W flow in pixels; differentiable in both."""
    return _warp_at(image, _positions(flow))


def _time_factor(time: torch.Tensor | float, batch: int, device: torch.device) -> torch.Tensor | float:
    """``time`` as a factor for B×C×H×W tensors: a float as it is, a B-vector as B×1×1×1."""
    if isinstance(time, torch.Tensor):
        time = time.to(device, torch.float32).reshape(-1)
        if time.numel() == 1:
            return float(time)
        if time.numel() != batch:
            raise ValueError(f"got {time.numel()} times for a batch of {batch}")
        return time.view(-1, 1, 1, 1)
    return float(time)


def _check_times(time: torch.Tensor | float) -> None:
    values = time if isinstance(time, torch.Tensor) else torch.tensor([float(time)])
    if not bool(((values > 0) & (values < 1)).all()):
        raise ValueError(f"times must lie strictly between 0 and 1, got {values.flatten().tolist()}")


def flows_at_time(
    flows: torch.Tensor,
    time: torch.Tensor | float = 0.5,
    iterations: int = 0,
    neighbours: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flows from the frame at ``time`` t to (frame0, frame1), each B×2×H×W pixels, from
    ``cat(flow01, flow10)`` (B×4×H×W).

    ``time``: a float in (0, 1) for the whole batch, or a B-vector of them, one per pair.
    Linear motion: a point at p0 in frame0 and p1 in frame1 is at
    ``x = p0 + t · (p1 − p0)`` at time t, so its flow to frame0 is
    ``t · flow10(p1)`` and to frame1 ``(1 − t) · flow01(p0)``.
    ``iterations=0`` reads those flows at x itself (``t · flow10(x)``,
    ``(1 − t) · flow01(x)``: the flow at a pixel of the time-t frame taken
    from the same pixel of the other input). Each iteration refines it by a
    fixed point: with ``m`` the full motion to frame0 found so far at x, the
    point sits at ``p1 = x − (1 − t) · m`` in frame1, so ``m ← flow10(x − (1 − t) · m)``
    and the flow to frame0 is ``t · m`` (likewise for frame1 with ``flow01``
    and the roles of t and 1 − t swapped). At a moving object's edge this
    reads the flow where the object really is at time t instead of a fraction
    of a motion away. The same construction as Super SloMo's (Jiang et al.,
    CVPR 2018) and RIFE's time input, from one pair of flows for every t.
    At t = ½ it is :func:`middle_flows`, bit for bit.

    ``neighbours`` (B×4×H×W, ``cat(flow0_before, flow1_after)``: the flow from
    frame0 to the frame before it and from frame1 to the frame after it, as
    :func:`neighbour_flows` makes them) switches to constant-acceleration
    motion through the four frames (Xu et al., "Quadratic Video Interpolation",
    NeurIPS 2019): a point of frame0 has travelled
    ``travel0 = ½(flow01 − flow0_before)·t + ½(flow01 + flow0_before)·t²`` by time t,
    and one of frame1, going back, ``travel1`` likewise with ``flow10``,
    ``flow1_after`` and 1 − t. The same fixed point finds where the point at x
    came from, ``p1 = x − travel1(p1)``, and the flow to frame0 is what is left
    of its motion, ``flow10(p1) − travel1(p1)`` (likewise to frame1). Where
    ``flow0_before = −flow01`` and ``flow1_after = −flow10`` (constant
    velocity: what :func:`neighbour_flows` puts where both neighbours are
    missing or unreliable) this is the linear construction, up to float rounding.
    """
    _check_times(time)
    flow01, flow10 = flows[:, :2], flows[:, 2:]
    t = _time_factor(time, flows.shape[0], flows.device)
    if neighbours is not None:
        return _quadratic_flows_at_time(flow01, flow10, neighbours, t, iterations)
    motion0, motion1 = flow10, flow01  # full motions to frame0 and frame1, read at x
    for _ in range(iterations):
        motion0, motion1 = (
            backward_warp(flow10, -((1 - t) * motion0)),
            backward_warp(flow01, -(t * motion1)),
        )
    return t * motion0, (1 - t) * motion1


def _quadratic_flows_at_time(
    flow01: torch.Tensor,
    flow10: torch.Tensor,
    neighbours: torch.Tensor,
    t: torch.Tensor | float,
    iterations: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`flows_at_time` with constant-acceleration motion (its docstring)."""
    if neighbours.shape != flow01.shape[:1] + (4,) + flow01.shape[2:]:
        raise ValueError(
            f"neighbour flows of shape {tuple(neighbours.shape)} do not match flows of shape "
            f"{tuple(flow01.shape[:1] + (4,) + flow01.shape[2:])}"
        )
    flow0_before, flow1_after = neighbours[:, :2].float(), neighbours[:, 2:].float()
    s = 1 - t
    travel0 = 0.5 * (flow01 - flow0_before) * t + 0.5 * (flow01 + flow0_before) * (t * t)  # frame0's grid
    travel1 = 0.5 * (flow10 - flow1_after) * s + 0.5 * (flow10 + flow1_after) * (s * s)  # frame1's grid
    rest0, rest1 = flow10 - travel1, flow01 - travel0  # from the time-t position on to frame0, to frame1
    if iterations == 0:
        return rest0, rest1
    offset1, offset0 = travel1, travel0  # read at x first, then where the point came from
    for _ in range(iterations - 1):
        offset1, offset0 = backward_warp(travel1, -offset1), backward_warp(travel0, -offset0)
    return backward_warp(rest0, -offset1), backward_warp(rest1, -offset0)


NEIGHBOUR_CONSISTENCY_PIXELS = 2.0  # round-trip error a neighbour flow may have, plus the fraction below
NEIGHBOUR_CONSISTENCY_FRACTION = 0.1  # ... of its length; beyond that the motion there is taken as linear


def neighbour_flows(
    flows: torch.Tensor, flows_before: torch.Tensor | None, flows_after: torch.Tensor | None
) -> torch.Tensor:
    """The neighbour flows :func:`flows_at_time` reads for acceleration, B×4V×H×W in pixels.

    ``flows``: the pair's B×4V×H×W ensemble (V groups of ``cat(flow01, flow10)``);
    ``flows_before``: the same of the pair before (frame −1 → frame0, so its
    flow10 is the flow from frame0 to the frame before it); ``flows_after``:
    of the pair after (its flow01 is the flow from frame1 to the frame after).
    Each must be computed on the same pixels as ``flows`` (the same crop).
    Returns, per variant, ``cat(flow0_before, flow1_after)``. A neighbour flow
    is kept only where it survives a forward–backward check against its own
    pair (:func:`consistency_error` at most ``NEIGHBOUR_CONSISTENCY_PIXELS`` +
    ``NEIGHBOUR_CONSISTENCY_FRACTION`` × its length, the usual occlusion test,
    e.g. Sundaram et al., ECCV 2010): elsewhere (occlusions, a cut, a missing
    neighbour, None) it is replaced by the constant-velocity value
    (``−flow01``, ``−flow10``), where the motion stays linear. The thresholds
    were chosen on training clips, never the held-out ones (MODEL.md).

    Both sides then share one acceleration. Under constant acceleration a
    point's ``flow01 + flow0_before`` at frame0 equals ``flow10 + flow1_after``
    where it lands in frame1 (both are the acceleration, in pixels per
    interval²); estimated from four noisy flows they differ, and warping
    frame0 by one estimate and frame1 by the other puts the two warps a
    fraction of a pixel apart, which their blend turns into blur. So each
    side's acceleration is the mean of its own and the other side's, read at
    the same point (one warp each way). Where only one side has a reliable
    neighbour, the shared value is half of that side's. Measured on training
    clips and the held-out ones (MODEL.md, "One acceleration for both
    sides"): a little PSNR for a much better ST-LPIPS.
    """
    groups = split_variants(flows)
    before = split_variants(flows_before) if flows_before is not None else [None] * len(groups)
    after = split_variants(flows_after) if flows_after is not None else [None] * len(groups)
    if len(before) != len(groups) or len(after) != len(groups):
        raise ValueError("neighbouring pairs' flows must have as many variants as the pair's")
    parts = []
    for group, previous, following in zip(groups, before, after, strict=True):
        flow01, flow10 = group[:, :2].float(), group[:, 2:].float()
        acceleration0 = flow01 + _reliable(previous, 2, -flow01)  # at frame0's pixels
        acceleration1 = flow10 + _reliable(following, 0, -flow10)  # at frame1's pixels
        parts.append(0.5 * (acceleration0 + backward_warp(acceleration1, flow01)) - flow01)
        parts.append(0.5 * (acceleration1 + backward_warp(acceleration0, flow10)) - flow10)
    return torch.cat(parts, dim=1)


def _reliable(pair: torch.Tensor | None, start: int, linear: torch.Tensor) -> torch.Tensor:
    """``pair[:, start:start + 2]`` where it passes the round-trip check (:func:`neighbour_flows`),
    ``linear`` elsewhere."""
    if pair is None:
        return linear
    if pair.shape != linear.shape[:1] + (4,) + linear.shape[2:]:
        raise ValueError(
            f"a neighbouring pair's flows of shape {tuple(pair.shape)} do not match the pair's "
            f"{tuple(linear.shape[:1] + (4,) + linear.shape[2:])}"
        )
    pair = pair.float()
    flow = pair[:, start : start + 2]
    error = round_trip_error(flow, pair[:, 2 - start : 4 - start])  # the one channel needed
    length = torch.hypot(flow[:, :1], flow[:, 1:])
    limit = NEIGHBOUR_CONSISTENCY_PIXELS + NEIGHBOUR_CONSISTENCY_FRACTION * length
    return torch.where(error <= limit, flow, linear)


def middle_flows(flows: torch.Tensor, iterations: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Flows from the middle frame to (frame0, frame1), each B×2×H×W, from ``cat(flow01, flow10)``:
    :func:`flows_at_time` at t = ½.

    ``iterations=0`` is the plain half-flow approximation (``flow10 / 2``,
    ``flow01 / 2``); each iteration is a fixed-point step ``g ← flow10(x − g) / 2``
    (likewise for frame1), which at a moving object's edge reads the flow where
    the object really is at the middle time instead of half a motion away.
    """
    return flows_at_time(flows, 0.5, iterations)


def consistency_error(flows: torch.Tensor) -> torch.Tensor:
    """Forward–backward round-trip error in pixels, B×2×H×W: (at frame1's pixels, at frame0's pixels).

    Channel 0 is ``|flow10 + flow01(x + flow10)|``: large where a pixel of
    frame1 is occluded in frame0 or mis-tracked, so frame0's half-flow warp is
    unreliable there. Channel 1 is the same for frame0's pixels and frame1's warp.
    """
    flow01, flow10 = flows[:, :2], flows[:, 2:]
    return torch.cat([round_trip_error(flow10, flow01), round_trip_error(flow01, flow10)], dim=1)


def round_trip_error(flow: torch.Tensor, back: torch.Tensor) -> torch.Tensor:
    """``|flow + back(x + flow)|`` in pixels, B×1×H×W, from B×2×H×W ``flow`` (on its pixels) and
    ``back`` (the flow the other way, on the other frame's pixels): one channel of
    :func:`consistency_error`, one warp."""
    trip = flow + backward_warp(back, flow)
    # hypot of the two components: Tensor.norm over dim 1 took 140 ms per call at 640×480 × 4
    # variants on CPU (a strided reduction), more than the U-Net's convolutions.
    return torch.hypot(trip[:, :1], trip[:, 1:])


def stack_variants(flows: torch.Tensor) -> torch.Tensor:
    """A B×4V×H×W flow ensemble as one (V·B)×4×H×W batch, variant-major
    (undo with :func:`mean_over_variants`)."""
    return torch.cat(split_variants(flows), dim=0)


def mean_over_variants(stacked: torch.Tensor, variants: int) -> torch.Tensor:
    """The mean over variants of a (V·B)×C×H×W tensor laid out as :func:`stack_variants` does."""
    return stacked.view(variants, -1, *stacked.shape[1:]).mean(dim=0)


def stack_times(time: torch.Tensor | float, variants: int) -> torch.Tensor | float:
    """A B-vector of times repeated for a (V·B) batch laid out as :func:`stack_variants` does
    (a float stays as it is)."""
    if isinstance(time, torch.Tensor) and time.numel() > 1:
        return time.reshape(-1).repeat(variants)
    return time


def ensemble_warps(
    frame0: torch.Tensor,
    frame1: torch.Tensor,
    flows: torch.Tensor,
    time: torch.Tensor | float = 0.5,
    iterations: int = 0,
    residual0: torch.Tensor | None = None,
    residual1: torch.Tensor | None = None,
    *,
    time_flows: tuple[torch.Tensor, torch.Tensor] | None = None,
    neighbours: torch.Tensor | None = None,
    interpolation: str = "bilinear",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both inputs warped to time ``time``, averaged over the ensemble's variants.

    ``frame0``, ``frame1``: B×C×H×W; ``flows``: B×4V×H×W (V = 1 is a plain
    pair of flows); ``time``: a float in (0, 1) or a B-vector, one per pair
    (½: the middle frame). For each variant the flows to the two inputs come
    from :func:`flows_at_time` (or from ``time_flows``, the (V·B)×2×H×W pair
    that ``flows_at_time(stack_variants(flows), stack_times(time, V), iterations)``
    returns, when the caller has it already), optionally shifted by a
    B×2×H×W ``residual0`` / ``residual1`` (the same for every variant), and
    frame0 and frame1 are backward-warped with them (with ``neighbours``,
    B×4V×H×W from :func:`neighbour_flows`, by constant-acceleration motion:
    :func:`flows_at_time`); the V warps of each
    frame are averaged. :func:`blend_at_time` of the two is then the average
    of the V variants' frames at that time. Where a variant's warp of one
    frame samples outside it and the other's inside, both take the inside
    sample (:func:`fill_out_of_frame`). Differentiable in the frames and residuals.
    ``interpolation`` (:data:`WARP_INTERPOLATIONS`) samples the frames; "bicubic"
    keeps more of their detail than "bilinear", which averages neighbouring
    pixels at a fractional position and so blurs every warp a little (the
    default model's choice: MODEL.md, "Sharper warps").

    The variants run one after another and their warps are summed as they
    come, so the working set is one variant's flows, sample positions and
    warps (≈ 30 floats a pixel of each pair) instead of all V at once (≈ 120
    for V = 4: 1 GB more per 1080p pair). The result is the same bit for bit
    as warping all variants in one batch and taking :func:`mean_over_variants`:
    ``grid_sample`` treats each sample alone, and PyTorch's mean over the
    leading dimension is the sum in order, divided by V.
    """
    check_warp_interpolation(interpolation)
    variants = flows.shape[1] // 4
    batch = flows.shape[0]
    total0 = total1 = None
    neighbour_groups = split_variants(neighbours) if neighbours is not None else [None] * variants
    for variant, group in enumerate(split_variants(flows)):
        if time_flows is None:
            to0, to1 = flows_at_time(group, time, iterations, neighbour_groups[variant])
        else:
            to0, to1 = (flow[variant * batch : (variant + 1) * batch] for flow in time_flows)
        if residual0 is not None:
            to0 = to0 + residual0
        if residual1 is not None:
            to1 = to1 + residual1
        position0, position1 = _positions(to0), _positions(to1)  # shared by the warps and the inside test
        del to0, to1
        warped0, warped1 = _fill(
            _warp_at(frame0, position0, interpolation),
            _warp_at(frame1, position1, interpolation),
            _inside(position0),
            _inside(position1),
        )
        del position0, position1
        total0 = warped0 if total0 is None else total0 + warped0
        total1 = warped1 if total1 is None else total1 + warped1
        del warped0, warped1
    assert total0 is not None and total1 is not None  # split_variants raises for V = 0
    return total0 / variants, total1 / variants


def blend_at_time(
    warped0: torch.Tensor, warped1: torch.Tensor, time: torch.Tensor | float = 0.5
) -> torch.Tensor:
    """The frame at ``time`` from B×C×H×W warps of frame0 and frame1: ``(1 − t)·warped0 + t·warped1``.

    Each warp weighs by its input's nearness in time, as in Super SloMo (Jiang
    et al., CVPR 2018): at t = ¼ three quarters come from frame0, whose warp
    moved a quarter of the motion. At t = ½ it is ``0.5 · (warped0 + warped1)``
    bit for bit (halving is exact in floating point). ``time``: a float or a B-vector.
    """
    if not isinstance(time, torch.Tensor) and float(time) == 0.5:
        return 0.5 * (warped0 + warped1)
    t = _time_factor(time, warped0.shape[0], warped0.device)
    return (1 - t) * warped0 + t * warped1


def inside_frame(flow: torch.Tensor) -> torch.Tensor:
    """B×1×H×W bool: whether ``x + flow(x)`` lands inside the frame (pixel centres 0 … W − 1, ±0.5 px)."""
    return _inside(_positions(flow))


def _inside(position: torch.Tensor) -> torch.Tensor:
    height, width = position.shape[-2:]
    x, y = position[:, :1], position[:, 1:]
    return (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)


def fill_out_of_frame(
    warped0: torch.Tensor, warped1: torch.Tensor, flow_to0: torch.Tensor, flow_to1: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where one warp samples outside its frame and the other inside, use the inside one for both.

    Content entering at an edge exists in one input only: the other's middle
    flow points outside the image, where a backward warp can only repeat the
    edge pixels, and averaging that with the true content gives a 50/50 ghost.
    Replacing the outside sample by the other warp's makes the average (and the
    network's inputs) take the pixel from the frame that has it. Where both
    land outside, or both inside, nothing changes. B×C×H×W warps, B×2×H×W
    middle flows (pixels); differentiable in the warps.
    """
    return _fill(warped0, warped1, inside_frame(flow_to0), inside_frame(flow_to1))


def _fill(
    warped0: torch.Tensor, warped1: torch.Tensor, inside0: torch.Tensor, inside1: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    only1 = inside1 & ~inside0
    only0 = inside0 & ~inside1
    return torch.where(only1, warped1, warped0), torch.where(only0, warped0, warped1)
