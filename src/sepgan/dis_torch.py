"""DIS optical flow (Dense Inverse Search) in PyTorch: all patches of a batch at once, on any device.

Method: Kroeger, Timofte, Dai and Van Gool, "Fast Optical Flow using Dense
Inverse Search", ECCV 2016, as OpenCV implements it (``cv2.DISOpticalFlow``,
modules/video/src/dis_flow.cpp, and its variational refinement,
modules/video/src/variational_refinement.cpp). This is our own code, written
from those files; it follows them step by step so that the flows match
:func:`sepgan.flow.dis_flow` closely:

1. **Pyramid.** Level ``finest_scale`` is the frame shrunk by ``2^finest_scale``
   with area averaging (OpenCV ``INTER_AREA``, rounded to whole grey levels as
   OpenCV's uint8 levels are); each coarser level halves the one before (sizes
   rounded down). The coarsest level is OpenCV's formula
   (:func:`sepgan.flow._dis_coarsest_scale`): about a quarter of the longer side
   of motion is reachable.
2. **Inverse search**, per level, on patches of ``patch_size`` (8) px every
   ``patch_stride`` px that lie wholly inside the level. Each patch starts from
   the flow of the coarser level at its centre. The inverse-compositional
   Gauss–Newton step uses the patch's Sobel gradients of the source (OpenCV's
   ``spatialGradient``: 3×3 Sobel, reflected border) and their structure tensor
   (its determinant floored at 0.001); patches are mean-normalised (the SSD and
   the step ignore a brightness offset); the destination is sampled bilinearly
   with its edges replicated, the patch's corner kept within one patch of the
   frame. Two passes (forward, backward) of ``gradient_descent_iterations // 2``
   steps each; a patch stops when its SSD no longer falls (after that step, as
   OpenCV does), and a result more than ``patch_size`` px from its start is
   dropped.
3. **Spatial propagation**, exactly as OpenCV orders it. OpenCV cuts the patch
   rows into 8 stripes and scans each stripe in raster order, left to right and
   top to bottom in the first pass and back in the second: each patch takes its
   left and upper (then right and lower) neighbour's vector, already final for
   this pass, when that vector's mean-normalised SSD is strictly lower than its
   own, and descends at once from the best; a good vector so travels a whole
   row in one pass. Patch (r, c) depends only on (r, c ∓ 1) and (r ∓ 1, c), so
   the patches of one anti-diagonal (stripe row + column = constant), over all
   stripes, are independent: each pass runs one anti-diagonal at a time, its
   patches batched, ⌈rows / 8⌉ + columns − 1 steps (≈ 230 at 640×480 "fine"),
   with the same result as OpenCV's sequential loop (tests/test_dis_torch.py
   checks it against a patch-by-patch loop). An earlier version compared
   neighbours all at once (Jacobi rounds), so a vector moved a patch a round:
   flow-ensemble lost 0.21 dB on middlebury-other and 0.15 dB on davis, and its
   "fine" flows stood 0.76 px from OpenCV's on Beanbags and 39.5 px on davis
   tackle; with the wavefronts 0.23 px and 4.75 px (2026-12-07).
4. **Densification.** A pixel's flow is the average of the vectors of the
   patches that cover it (the nearest patch row or column past the last one),
   each weighted by ``1 / max(1, |I1(x + u) − I0(x)|)`` in grey levels.
5. **Variational refinement** on each level (Brox et al. 2004's energy as
   OpenCV has it): a data term (brightness constancy, weight ``delta``) and a
   gradient-constancy term (``gamma``), both normalised and robust (Charbonnier,
   ε = 0.001, ζ = 0.1), and a robust smoothness term (``alpha``) on forward
   differences; derivatives from central differences of the average of the
   source and the warped destination (replicated edges); ``fixed_point``
   outer iterations, each solving for the increment with 5 red–black SOR sweeps
   (ω = 1.6). Red–black SOR is parallel by construction, so this part is exact.

Small motions: on whole-pixel translations of a few pixels both flows are
within 0.01 px of the truth on average, and 98–100% of that error lies in the
band of one patch along the edge where content leaves the frame: there no patch
sees its match whole, the destination's replicated edge decides, and which
wrong vector a border patch keeps depends on small float differences carried
along the propagation chain. The ratio of two such errors is noise:
over translations of 0–5 px on 96×128 frames it ran from 0.26 to 1.19 (0.0075
against 0.0063 px for −2 px with "fine"; masking the pixels whose match leaves
the frame does not change it, 1.15), with the interior 8 px in at 0.0000
against 0.0002 px. The same holds at (−5, 2) px with "fine": 98% of the error
is in that band, and the ratio is 0.88 or 1.12 by the texture's seed (the
tests use seed 0). Rotation and the moving square, whose errors lie inside the
frame, are the cases that measure the search (0.95–1.03). (These figures were
measured with the Jacobi propagation; with the wavefronts the tests' six ratios
run from 0.91 to 1.02.)

The flow of each level, scaled ×2 bilinearly, seeds the next; the finest
level's flow is scaled to the full frame. Frames too small for a preset's
pyramid are padded with replicated edges and the flow cropped back
(:func:`sepgan.flow.dis_padded_size`), as :func:`sepgan.flow.dis_flow` does.

Conventions: grey frames B×1×H×W holding grey levels 0–255 (uint8, or float
with whole values: OpenCV's RGB → grey of uint8 frames, :func:`grey_levels`);
flows B×2×H×W float32 in pixels, from source to destination, x (right) then y
(down). Every operation is an elementwise op, a gather, ``grid_sample`` or a
pooling forward pass, so the result is deterministic on CPU and CUDA (no
atomic adds, no TF32 matrix products). Not differentiable (no autograd).

Cost: the search is launch-bound. Each wavefront costs 3 SSD evaluations and up
to ``gradient_descent_iterations // 2`` descent steps (about 8 and 12 tensor ops
each, whatever the frame size), and a level has 2 × (⌈rows / 8⌉ + columns − 1)
wavefronts: ≈ 460 at 640×480 and ≈ 1370 at 1080p with "fine" (patches every
3 px), so ≈ 90 k and ≈ 270 k small ops at the finest level. On a GPU that
wants CUDA graphs (the wavefronts of a level size are fixed) or a fused
kernel; not yet measured. The SOR sweeps cost 7 ops per half-sweep. Memory at
the finest level is about 0.8 kB per patch and batch item (its source pixels
and two gradients, 8×8 each; a wavefront's scratch is small), ≈ 1.4 GB for a
batch of 8 at 1080p with "fine". On the CPU the batch runs as one search up to
256 MB of those tensors (``_CPU_SEARCH_BYTES``; a 640×480 ensemble's 8 items
together, one item at a time at 1080p): the ensemble's 8 flows of a 320×240
crop took 8.3 s on one thread of a busy CPU against 6.3–7.7 s for the Jacobi
version one item at a time, measured side by side (2026-12-07); one item alone
is about 3× slower than that version, as the wavefronts' launches are not
shared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["DISParameters", "dis_parameters", "dense_inverse_search", "grey_levels"]


@dataclass(frozen=True)
class DISParameters:
    """One DIS set-up: OpenCV's preset values (dis_flow.cpp, ``DISOpticalFlow::create``)."""

    finest_scale: int
    patch_stride: int
    gradient_descent_iterations: int
    variational_iterations: int
    patch_size: int = 8
    alpha: float = 20.0  # smoothness weight
    delta: float = 5.0  # brightness-constancy weight
    gamma: float = 10.0  # gradient-constancy weight
    sor_iterations: int = 5
    omega: float = 1.6
    zeta: float = 0.1
    epsilon: float = 0.001


# The presets of sepgan.flow.DIS_PRESETS; "fine" is MEDIUM refined down to full resolution.
_PRESETS = {
    "ultrafast": DISParameters(
        finest_scale=2, patch_stride=4, gradient_descent_iterations=12, variational_iterations=0
    ),
    "fast": DISParameters(
        finest_scale=2, patch_stride=4, gradient_descent_iterations=16, variational_iterations=5
    ),
    "medium": DISParameters(
        finest_scale=1, patch_stride=3, gradient_descent_iterations=25, variational_iterations=5
    ),
    "fine": DISParameters(
        finest_scale=0, patch_stride=3, gradient_descent_iterations=25, variational_iterations=5
    ),
}

_DETERMINANT_FLOOR = 0.001  # OpenCV's EPS for the structure tensor's determinant
_STRIPES = 8  # OpenCV's fixed number of horizontal stripes in the propagating search
_CPU_SEARCH_BYTES = 256 * 2**20  # bound on a CPU chunk's patch tensors (source, two gradients)
_EDGE_MARGIN = 0.001  # densification keeps sample points this far inside the last pixel (OpenCV's EPS)


def dis_parameters(preset: str) -> DISParameters:
    """The parameters of ``preset`` (one of :data:`sepgan.flow.DIS_PRESETS`); ValueError otherwise."""
    if preset not in _PRESETS:
        raise ValueError(f"unknown DIS preset {preset!r}; choose from {', '.join(_PRESETS)}")
    return _PRESETS[preset]


def grey_levels(frames: torch.Tensor) -> torch.Tensor:
    """OpenCV's RGB → grey (``COLOR_RGB2GRAY`` on uint8) of B×3×H×W frames in [0, 1], as B×1×H×W
    float32 whole grey levels 0–255 on the frames' device.

    Frames are first rounded to uint8 levels as :func:`sepgan.media.frames.to_uint8` does
    (clamp, ×255, round half up); then Y = (9798 R + 19235 G + 3735 B + 2^14) >> 15, OpenCV's
    fixed-point 0.299/0.587/0.114 (15-bit, OpenCV 4.x–5.x), in exact integer arithmetic.
    """
    if frames.dim() != 4 or frames.shape[1] != 3:
        raise ValueError(f"expected B×3×H×W frames, got shape {tuple(frames.shape)}")
    levels = (frames.detach().float().clamp(0, 1) * 255 + 0.5).to(torch.int32)
    red, green, blue = levels[:, 0:1], levels[:, 1:2], levels[:, 2:3]
    return ((9798 * red + 19235 * green + 3735 * blue + 16384) >> 15).float()


def dense_inverse_search(
    source: torch.Tensor, destination: torch.Tensor, preset: str = "medium"
) -> torch.Tensor:
    """DIS optical flow from each ``source`` to its ``destination``: B×1×H×W grey levels → B×2×H×W.

    Args:
        source, destination: B×1×H×W grey levels 0–255 (uint8, or float holding whole
            levels, e.g. from :func:`grey_levels`), on any device; frames of any size of
            at least 1×1 (small ones are padded, see the module docstring).
        preset: "ultrafast", "fast", "medium" or "fine" (:data:`sepgan.flow.DIS_PRESETS`).

    Returns:
        B×2×H×W float32 flow in pixels on the inputs' device: channel 0 is x, 1 is y;
        ``source(p) ≈ destination(p + flow(p))``.

    Raises:
        ValueError: an unknown preset, inputs that are not two B×1×H×W tensors of one
            shape, or an empty frame.
    """
    parameters = dis_parameters(preset)
    if source.shape != destination.shape or source.dim() != 4 or source.shape[1] != 1:
        raise ValueError(
            "expected two B×1×H×W grey frames of one shape, "
            f"got {tuple(source.shape)} and {tuple(destination.shape)}"
        )
    batch, _, height, width = source.shape
    if batch == 0 or height == 0 or width == 0:
        raise ValueError(f"DIS needs frames of at least 1×1 pixels, got shape {tuple(source.shape)}")
    from sepgan.flow import dis_padded_size  # the one padding rule, shared with the OpenCV backend

    padded_height, padded_width = dis_padded_size(
        height, width, parameters.patch_size, parameters.finest_scale
    )
    with torch.no_grad():
        images0, images1 = source.float(), destination.float()
        if (padded_height, padded_width) != (height, width):
            pad = (0, padded_width - width, 0, padded_height - height)
            images0 = F.pad(images0, pad, mode="replicate")
            images1 = F.pad(images1, pad, mode="replicate")
        if images0.device.type == "cpu":
            # On the CPU, as many batch items at a time as keep the finest level's patch tensors within
            # _CPU_SEARCH_BYTES: the wavefront search is launch-bound (≈ 400 small steps a pass at
            # 640×480), so 8 items together ran 4× faster than one by one ("fine", 320×240), bit for
            # bit equal; the bound keeps memory to about that of one item at 1080p.
            finest_pixels = (padded_height >> parameters.finest_scale) * (
                padded_width >> parameters.finest_scale
            )
            item_bytes = 3 * 4 * parameters.patch_size**2 * finest_pixels // parameters.patch_stride**2
            chunk = max(1, min(batch, _CPU_SEARCH_BYTES // max(item_bytes, 1)))
            flow = torch.cat(
                [
                    _coarse_to_fine(images0[k : k + chunk], images1[k : k + chunk], parameters)
                    for k in range(0, batch, chunk)
                ]
            )
        else:
            flow = _coarse_to_fine(images0, images1, parameters)
        return flow[:, :, :height, :width].contiguous()


def _coarse_to_fine(images0: torch.Tensor, images1: torch.Tensor, parameters: DISParameters) -> torch.Tensor:
    from sepgan.flow import _dis_coarsest_scale

    height, width = images0.shape[-2:]
    coarsest = _dis_coarsest_scale(height, width, parameters.patch_size)
    finest = parameters.finest_scale
    pyramid0, pyramid1 = [], []
    level0, level1 = images0, images1
    size = (height // 2**finest, width // 2**finest)
    for _ in range(finest, coarsest + 1):
        level0, level1 = _area_resize(level0, size), _area_resize(level1, size)
        pyramid0.append(level0)
        pyramid1.append(level1)
        size = (size[0] // 2, size[1] // 2)
    flow = torch.zeros(
        images0.shape[0], 2, *pyramid0[-1].shape[-2:], device=images0.device, dtype=torch.float32
    )
    for level in reversed(range(len(pyramid0))):
        image0, image1 = pyramid0[level], pyramid1[level]
        if flow.shape[-2:] != image0.shape[-2:]:
            flow = 2 * F.interpolate(flow, size=image0.shape[-2:], mode="bilinear", align_corners=False)
        sparse = _inverse_search(image0, image1, flow, parameters)
        flow = _densify(image0, image1, sparse, parameters)
        if parameters.variational_iterations > 0:
            flow = _variational_refinement(image0, image1, flow, parameters)
    if finest > 0:
        flow = 2**finest * F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False)
    return flow


# --- pyramid ---------------------------------------------------------------------------------------


def _area_weights(source: int, target: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Taps of OpenCV's ``INTER_AREA`` shrink of ``source`` samples to ``target``: target sample t
    averages the source interval [t·s, (t + 1)·s), s = source / target, each source sample weighted
    by its overlap. Returns (indices, weights), both target×K."""
    scale = source / target
    taps = math.ceil(scale) + 1
    starts = torch.arange(target, dtype=torch.float64) * scale
    first = starts.floor()
    indices = first[:, None] + torch.arange(taps, dtype=torch.float64)[None, :]
    overlap = (
        torch.minimum(indices + 1, starts[:, None] + scale) - torch.maximum(indices, starts[:, None])
    ).clamp(min=0)
    weights = overlap / scale
    indices = indices.clamp(max=source - 1)  # taps past the end carry zero weight
    return indices.long().to(device), weights.float().to(device)


def _area_resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """B×1×H×W grey levels shrunk to ``size`` by area averaging, rounded to whole levels (OpenCV's
    uint8 ``resize(..., INTER_AREA)``); the image itself when the size is its own."""
    height, width = image.shape[-2:]
    if (height, width) == tuple(size):
        return image
    rows, row_weights = _area_weights(height, size[0], image.device)
    columns, column_weights = _area_weights(width, size[1], image.device)
    image = (image[:, :, rows, :] * row_weights[:, :, None]).sum(dim=3)  # B×1×h×K×W → B×1×h×W
    image = (image[:, :, :, columns] * column_weights).sum(dim=4)  # B×1×h×w×K → B×1×h×w
    return torch.floor(image + 0.5)


# --- inverse search --------------------------------------------------------------------------------


def _sobel(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """3×3 Sobel x and y derivatives of B×1×H×W (OpenCV ``spatialGradient``: reflect-101 border)."""
    padded = F.pad(image, (1, 1, 1, 1), mode="reflect")
    smooth_rows = padded[:, :, :-2] + 2 * padded[:, :, 1:-1] + padded[:, :, 2:]  # B×1×H×(W+2)
    smooth_columns = padded[..., :-2] + 2 * padded[..., 1:-1] + padded[..., 2:]  # B×1×(H+2)×W
    return smooth_rows[..., 2:] - smooth_rows[..., :-2], smooth_columns[:, :, 2:] - smooth_columns[:, :, :-2]


def _patches(image: torch.Tensor, size: int, stride: int) -> torch.Tensor:
    """B×1×H×W → B×P×size² patches every ``stride`` px, row-major (P = hs·ws), contiguous: the
    search multiplies them with its samples 24 times per level, ~4× slower on the transposed view."""
    return F.unfold(image, size, stride=stride).transpose(1, 2).contiguous()


def _patch_sums(image: torch.Tensor, size: int, stride: int) -> torch.Tensor:
    """Sum of ``image`` over each patch: B×1×H×W → B×P."""
    return F.avg_pool2d(image, size, stride=stride, divisor_override=1).flatten(1)


@dataclass
class _Scratch:
    """Buffers that every SSD evaluation of a level writes its per-patch tensors into (B×P×… each).
    Fresh tensors this large (10 MB each at 640×480) are mapped anew by the C heap and cost as much
    again in page faults on the CPU as the arithmetic; the propagation ran 2× slower with them."""

    window: torch.Tensor  # B×P×(size + 1)×(size + 1) destination pixels from each patch's corner
    columns: torch.Tensor  # B×P×size×(size + 1) the window interpolated in y
    differences: torch.Tensor  # B×P×size² (what _patch_differences returns)
    products: torch.Tensor  # B×P×size² a product before its sum


@dataclass
class _PatchGrid:
    """What the inverse search needs about a level's patches (P of them, hs rows by ws columns) and
    about its destination image."""

    size: int  # patch side in pixels
    rows: int
    columns: int
    corners: torch.Tensor  # P×2 top-left (x, y) in pixels
    source: torch.Tensor  # B×P×size² source grey levels
    gradient_x: torch.Tensor  # B×P×size², each patch's mean taken out
    gradient_y: torch.Tensor
    inverse_hessian: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # B×P each: (H⁻¹)11, 12, 22
    height: int  # the level's size in pixels
    width: int
    # The destination with ``size`` px of replicated edges, flattened over the batch, seen as the
    # (size + 1)² window from each of its pixels (a strided view: windows[i, r, c] is pixel i + r·row
    # + c, nothing copied); a window is then one index, not (size + 1)² of them: 3× less memory
    # traffic than a gather with a B×P×(size + 1)² index, which dominated the search's time.
    windows: torch.Tensor  # M×(size + 1)×(size + 1)
    batch_offsets: torch.Tensor  # B×1: where each batch item starts in ``windows``
    scratch: _Scratch | None  # a wavefront's buffers (None for the whole level's grid)


def _patch_grid(image0: torch.Tensor, image1: torch.Tensor, parameters: DISParameters) -> _PatchGrid:
    size, stride = parameters.patch_size, parameters.patch_stride
    height, width = image0.shape[-2:]
    rows, columns = 1 + (height - size) // stride, 1 + (width - size) // stride
    gradient_x, gradient_y = _sobel(image0)
    xx = _patch_sums(gradient_x * gradient_x, size, stride)
    yy = _patch_sums(gradient_y * gradient_y, size, stride)
    xy = _patch_sums(gradient_x * gradient_y, size, stride)
    determinant = xx * yy - xy * xy
    determinant = torch.where(determinant.abs() < _DETERMINANT_FLOOR, _DETERMINANT_FLOOR, determinant)
    device = image0.device
    corner_y, corner_x = torch.meshgrid(
        torch.arange(rows, device=device) * stride,
        torch.arange(columns, device=device) * stride,
        indexing="ij",
    )
    # Patches' corners stay within [1 − size, W − 1] (_patch_differences), so a window of
    # (size + 1)² pixels from a corner lies inside the destination padded by ``size`` px.
    destination = F.pad(image1, (size, size, size, size), mode="replicate")
    padded_size, padded_width = destination.shape[-1] * destination.shape[-2], destination.shape[-1]
    flat = destination.reshape(-1)
    windows = flat.as_strided(
        (flat.numel() - size * padded_width - size, size + 1, size + 1), (1, padded_width, 1)
    )
    patch_gradient_x = _patches(gradient_x, size, stride)
    patch_gradient_y = _patches(gradient_y, size, stride)
    return _PatchGrid(
        size=size,
        rows=rows,
        columns=columns,
        corners=torch.stack([corner_x.flatten(), corner_y.flatten()], dim=1).float(),
        source=_patches(image0, size, stride),
        # The step's mean normalisation, Σ d·g − Σd·Σg / n, is Σ d·(g − mean g).
        gradient_x=patch_gradient_x - patch_gradient_x.mean(dim=-1, keepdim=True),
        gradient_y=patch_gradient_y - patch_gradient_y.mean(dim=-1, keepdim=True),
        inverse_hessian=(yy / determinant, -xy / determinant, xx / determinant),
        height=height,
        width=width,
        windows=windows,
        batch_offsets=torch.arange(image1.shape[0], device=device)[:, None] * padded_size,
        scratch=None,
    )


def _sample(image: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of B×1×H×W ``image`` at pixel coordinates ``x``, ``y`` (B×N×M each), edges
    replicated: B×N×M."""
    height, width = image.shape[-2:]
    grid = torch.stack([x * (2 / max(width - 1, 1)) - 1, y * (2 / max(height - 1, 1)) - 1], dim=-1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)[:, 0]


def _patch_differences(grid: _PatchGrid, flow: torch.Tensor) -> torch.Tensor:
    """destination(patch pixel + flow) − source(patch pixel) for each patch: B×P×size².

    ``flow``: B×P×2. The patch's corner is kept within [−size + 1, H − 1] × [−size + 1, W − 1], as
    OpenCV keeps it inside its 16-px replicated border. A patch moves as a whole, so its bilinear
    weights are shared by its pixels (as in OpenCV): one gather of the (size + 1)² window from the
    corner's whole pixel, then two interpolations, y then x. This is several times cheaper than
    ``grid_sample`` on a stacked size²-point grid per patch. The result is ``grid``'s scratch
    buffer, overwritten by the next call."""
    size = grid.size
    corner_x = (grid.corners[:, 0] + flow[..., 0]).clamp(1 - size, grid.width - 1)
    corner_y = (grid.corners[:, 1] + flow[..., 1]).clamp(1 - size, grid.height - 1)
    left, top = corner_x.floor(), corner_y.floor()
    batch, count = left.shape
    start = (top.long() + size) * (grid.width + 2 * size) + (left.long() + size)  # B×P
    start = start + grid.batch_offsets  # into the flattened batch
    scratch = grid.scratch
    window = scratch.window
    torch.index_select(grid.windows, 0, start.flatten(), out=window.view(-1, size + 1, size + 1))
    # y first: its two operands are whole rows, contiguous in memory (x first is about 3× slower).
    fraction_x, fraction_y = (corner_x - left)[..., None, None], (corner_y - top)[..., None, None]
    columns = torch.lerp(window[..., :-1, :], window[..., 1:, :], fraction_y, out=scratch.columns)
    samples = scratch.differences.view(batch, count, size, size)
    torch.lerp(columns[..., :-1], columns[..., 1:], fraction_x, out=samples)
    return scratch.differences.sub_(grid.source)


def _mean_normalised_ssd(differences: torch.Tensor, products: torch.Tensor) -> torch.Tensor:
    """Sum of squared differences with the patch's mean difference taken out: B×P×n → B×P
    (``products``: a B×P×n scratch buffer)."""
    count = differences.shape[-1]
    total = differences.sum(dim=-1)
    return torch.mul(differences, differences, out=products).sum(dim=-1) - total * total / count


def _descend(grid: _PatchGrid, start: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` inverse-compositional Gauss–Newton steps from ``start`` (B×P×2) for every patch at once;
    a patch stops once its SSD stops falling (after that step, as OpenCV's loop does)."""
    inverse11, inverse12, inverse22 = grid.inverse_hessian
    current = start
    previous = torch.full(start.shape[:2], float("inf"), device=start.device)
    active = torch.ones(start.shape[:2], dtype=torch.bool, device=start.device)
    for _ in range(steps):
        differences, products = _patch_differences(grid, current), grid.scratch.products
        ssd = _mean_normalised_ssd(differences, products)
        step_x = torch.mul(differences, grid.gradient_x, out=products).sum(dim=-1)
        step_y = torch.mul(differences, grid.gradient_y, out=products).sum(dim=-1)
        update = torch.stack(
            [inverse11 * step_x + inverse12 * step_y, inverse12 * step_x + inverse22 * step_y], dim=-1
        )
        current = torch.where(active[..., None], current - update, current)
        active = active & (ssd < previous)
        previous = ssd
        if current.device.type == "cpu" and not active.any():
            break  # every patch has stopped (a check that would wait for a GPU, so only on the CPU)
    return current


@dataclass
class _Wavefront:
    """One anti-diagonal of the patch grid (local row + column = constant within each stripe): a
    slice of the patches in wavefront order, its :class:`_PatchGrid`, and for each scan direction
    the wavefront-order positions of the two neighbours its patches compare with and whether each
    exists."""

    start: int
    stop: int
    grid: _PatchGrid  # the level's grid restricted to these patches (views, scratch buffers shared)
    forward: tuple[tuple[torch.Tensor, torch.Tensor], ...]  # (left, above): (positions, exists)
    backward: tuple[tuple[torch.Tensor, torch.Tensor], ...]  # (right, below)


def _wavefronts(grid: _PatchGrid, batch: int) -> tuple[torch.Tensor, list[_Wavefront]]:
    """OpenCV's raster order as anti-diagonals: the patches re-ordered so that each wavefront is a
    contiguous slice. Returns (order: P row-major patch indices in wavefront order, wavefronts).

    OpenCV cuts the hs patch rows into :data:`_STRIPES` stripes of ⌈hs / 8⌉ rows and scans each
    stripe on its own (no vertical propagation across a stripe's edge). Within a stripe, patch
    (r, c) of the forward pass reads only (r, c − 1) and (r − 1, c), both on the anti-diagonal
    before its own; the backward pass reads (r, c + 1) and (r + 1, c), on the one after. So the
    patches of one anti-diagonal, over all stripes, are independent and run together, in
    stripe height + ws − 1 steps per pass, and the result is OpenCV's sequential one."""
    rows, columns, device = grid.rows, grid.columns, grid.corners.device
    stripe = math.ceil(rows / _STRIPES)
    row = torch.arange(rows)[:, None].expand(rows, columns).flatten()
    column = torch.arange(columns)[None, :].expand(rows, columns).flatten()
    local = row % stripe
    diagonal = local + column
    order = torch.argsort(diagonal * rows + row)  # by diagonal, then row: deterministic
    position = torch.empty_like(order)
    position[order] = torch.arange(order.numel())
    index = torch.arange(rows * columns)

    def neighbour(exists: torch.Tensor, offset: int) -> tuple[torch.Tensor, torch.Tensor]:
        # Where a neighbour is missing the patch points at itself; ``exists`` masks it out.
        target = torch.where(exists, index + offset, index)
        return position[target][order].to(device), exists[order].to(device)

    forward = (
        neighbour(column > 0, -1),
        neighbour(local > 0, -columns),
    )
    backward = (
        neighbour(column < columns - 1, 1),
        neighbour((local < stripe - 1) & (row < rows - 1), columns),
    )
    counts = torch.bincount(diagonal).tolist()
    size = grid.size
    largest = max(counts)
    buffers = [
        grid.source.new_empty(batch * largest * k) for k in ((size + 1) ** 2, size * (size + 1), size * size)
    ]
    products = grid.source.new_empty(batch * largest * size * size)
    order_on_device = order.to(device)
    ordered = _PatchGrid(
        size=size,
        rows=rows,
        columns=columns,
        corners=grid.corners[order_on_device],
        source=grid.source[:, order_on_device],
        gradient_x=grid.gradient_x[:, order_on_device],
        gradient_y=grid.gradient_y[:, order_on_device],
        inverse_hessian=tuple(part[:, order_on_device] for part in grid.inverse_hessian),
        height=grid.height,
        width=grid.width,
        windows=grid.windows,
        batch_offsets=grid.batch_offsets,
        scratch=grid.scratch,
    )
    wavefronts, start = [], 0
    for count in counts:
        stop = start + count
        n = batch * count
        scratch = _Scratch(
            window=buffers[0][: n * (size + 1) ** 2].view(batch, count, size + 1, size + 1),
            columns=buffers[1][: n * size * (size + 1)].view(batch, count, size, size + 1),
            differences=buffers[2][: n * size * size].view(batch, count, size * size),
            products=products[: n * size * size].view(batch, count, size * size),
        )
        part = _PatchGrid(
            size=size,
            rows=rows,
            columns=columns,
            corners=ordered.corners[start:stop],
            source=ordered.source[:, start:stop],
            gradient_x=ordered.gradient_x[:, start:stop],
            gradient_y=ordered.gradient_y[:, start:stop],
            inverse_hessian=tuple(h[:, start:stop] for h in ordered.inverse_hessian),
            height=grid.height,
            width=grid.width,
            windows=grid.windows,
            batch_offsets=grid.batch_offsets,
            scratch=scratch,
        )
        wavefronts.append(
            _Wavefront(
                start=start,
                stop=stop,
                grid=part,
                forward=tuple((p[start:stop], e[start:stop]) for p, e in forward),
                backward=tuple((p[start:stop], e[start:stop]) for p, e in backward),
            )
        )
        start = stop
    return order_on_device, wavefronts


def _search_wavefront(wavefront: _Wavefront, sparse: torch.Tensor, backward: bool, steps: int) -> None:
    """One anti-diagonal of a pass, in place on ``sparse`` (B×P×2, wavefront order), as OpenCV's
    loop body does for each patch: the patch's own vector, then its left (right) and upper (lower)
    neighbours' vectors, each taken when its mean-normalised SSD is strictly lower; then ``steps``
    descent steps from the best; a result more than a patch from that start is dropped."""
    grid = wavefront.grid
    products = grid.scratch.products
    best = sparse[:, wavefront.start : wavefront.stop]
    best_ssd = _mean_normalised_ssd(_patch_differences(grid, best), products)
    for positions, exists in wavefront.backward if backward else wavefront.forward:
        candidate = sparse[:, positions]
        ssd = _mean_normalised_ssd(_patch_differences(grid, candidate), products)
        better = exists & (ssd < best_ssd)
        best = torch.where(better[..., None], candidate, best)
        best_ssd = torch.where(better, ssd, best_ssd)
    descended = _descend(grid, best, steps)
    kept = (descended - best).norm(dim=-1) <= grid.size
    sparse[:, wavefront.start : wavefront.stop] = torch.where(kept[..., None], descended, best)


def _inverse_search(
    image0: torch.Tensor, image1: torch.Tensor, flow: torch.Tensor, parameters: DISParameters
) -> torch.Tensor:
    """Sparse flow, one vector per patch (B×P×2, row-major), from the dense ``flow`` (B×2×h×w) of the
    coarser level: OpenCV's two passes (forward, backward) with spatial propagation, one
    anti-diagonal of patches at a time (:func:`_wavefronts`)."""
    size, stride = parameters.patch_size, parameters.patch_stride
    grid = _patch_grid(image0, image1, parameters)
    centre = size // 2
    sparse = flow[:, :, centre::stride, centre::stride][:, :, : grid.rows, : grid.columns]
    sparse = sparse.flatten(2).transpose(1, 2)  # B×P×2, row-major
    order, wavefronts = _wavefronts(grid, image0.shape[0])
    del grid  # the row-major copies; the wavefronts hold their own, in wavefront order
    sparse = sparse[:, order].contiguous()  # wavefront order
    steps = parameters.gradient_descent_iterations // 2  # OpenCV's two passes share the iterations
    for wavefront in wavefronts:
        _search_wavefront(wavefront, sparse, False, steps)
    for wavefront in reversed(wavefronts):
        _search_wavefront(wavefront, sparse, True, steps)
    unordered = torch.empty_like(sparse)
    unordered[:, order] = sparse
    return unordered


# --- densification ---------------------------------------------------------------------------------


def _covering_patches(length: int, size: int, stride: int, count: int, device: torch.device):
    """For each pixel along an axis, the indices of the K patches around it (K = ⌈size / stride⌉, last
    one first) and whether each covers it: (length×K indices, length×K mask). A pixel past the last
    patch's end takes the last patch, as OpenCV's densification does."""
    pixel = torch.arange(length, device=device)
    last = torch.clamp(pixel // stride, max=count - 1)
    first = torch.clamp((pixel - size + stride).clamp(min=0) // stride, max=count - 1)
    indices = last[:, None] - torch.arange(math.ceil(size / stride), device=device)[None, :]
    return indices.clamp(min=0), indices >= first[:, None]


def _densify(
    image0: torch.Tensor, image1: torch.Tensor, sparse: torch.Tensor, parameters: DISParameters
) -> torch.Tensor:
    """Dense B×2×h×w flow from the patches' vectors (B×P×2): at each pixel, the average of the
    covering patches' vectors weighted by 1 / max(1, |photometric error|)."""
    size, stride = parameters.patch_size, parameters.patch_stride
    batch = image0.shape[0]
    height, width = image0.shape[-2:]
    rows, columns = 1 + (height - size) // stride, 1 + (width - size) // stride
    grid = sparse.transpose(1, 2).reshape(batch, 2, rows, columns)
    row_index, row_mask = _covering_patches(height, size, stride, rows, image0.device)
    column_index, column_mask = _covering_patches(width, size, stride, columns, image0.device)
    y, x = torch.meshgrid(
        torch.arange(height, device=image0.device, dtype=torch.float32),
        torch.arange(width, device=image0.device, dtype=torch.float32),
        indexing="ij",
    )
    weighted = torch.zeros(batch, 2, height, width, device=image0.device)
    total = torch.zeros(batch, 1, height, width, device=image0.device)
    for k in range(row_index.shape[1]):
        for m in range(column_index.shape[1]):
            vectors = grid[:, :, row_index[:, k]][:, :, :, column_index[:, m]]  # B×2×h×w
            covers = (row_mask[:, k, None] & column_mask[None, :, m]).float()  # h×w
            at_x = (x + vectors[:, 0]).clamp(0, width - 1 - _EDGE_MARGIN)
            at_y = (y + vectors[:, 1]).clamp(0, height - 1 - _EDGE_MARGIN)
            error = _sample(image1, at_x, at_y)[:, None] - image0
            weight = covers / error.abs().clamp(min=1.0)
            weighted += weight * vectors
            total += weight
    return weighted / total


# --- variational refinement ------------------------------------------------------------------------


def _central_x(image: torch.Tensor) -> torch.Tensor:
    """f(x + 1) − f(x − 1), edges replicated (OpenCV ``Sobel`` with ksize 1, as the refinement uses)."""
    padded = F.pad(image, (1, 1, 0, 0), mode="replicate")
    return padded[..., 2:] - padded[..., :-2]


def _central_y(image: torch.Tensor) -> torch.Tensor:
    padded = F.pad(image, (0, 0, 1, 1), mode="replicate")
    return padded[:, :, 2:] - padded[:, :, :-2]


def _forward_x(image: torch.Tensor) -> torch.Tensor:
    """f(x + 1) − f(x), 0 in the last column."""
    return F.pad(image[..., 1:] - image[..., :-1], (0, 1))


def _forward_y(image: torch.Tensor) -> torch.Tensor:
    return F.pad(image[:, :, 1:] - image[:, :, :-1], (0, 0, 0, 1))


def _from_left(field: torch.Tensor) -> torch.Tensor:
    """field(x − 1), 0 in the first column."""
    return F.pad(field[..., :-1], (1, 0))


def _from_above(field: torch.Tensor) -> torch.Tensor:
    return F.pad(field[:, :, :-1], (0, 0, 1, 0))


def _divergence(right: torch.Tensor, below: torch.Tensor, field: torch.Tensor) -> torch.Tensor:
    """Σ over a pixel's edges of weight × (field at the neighbour − field here): the smoothness
    term's pull of the raw flow, given the edge weights to the right and below."""
    flux_x, flux_y = right * _forward_x(field), below * _forward_y(field)
    return flux_x - _from_left(flux_x) + flux_y - _from_above(flux_y)


def _red_black_sor(
    system: tuple[torch.Tensor, ...],
    right: torch.Tensor,
    below: torch.Tensor,
    increment: tuple[torch.Tensor, torch.Tensor],
    parameters: DISParameters,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``sor_iterations`` red–black SOR sweeps (relaxation ``omega``) on the 2×2-per-pixel system
    ``system`` = (a11, a12, a22, b1, b2), coupled by the smoothness edge weights ``right`` and
    ``below`` (all B×1×h×w), from the B×1×h×w ``increment`` (du, dv); returns the new (du, dv).

    Each pixel's row is divided by its diagonal once, and du, dv live in zero-padded buffers that
    are updated in place, so a half-sweep is 7 fused multiply-adds on views (no padding, division
    or selection per sweep, which made this loop about 3× slower)."""
    a11, a12, a22, b1, b2 = system
    height, width = a11.shape[-2:]
    weights = (_from_left(right), right, _from_above(below), below)  # to the left, right, up, down
    rows = []
    for diagonal, constant in ((a11, b1), (a22, b2)):
        inverse = 1 / diagonal
        rows.append(([weight * inverse for weight in weights], constant * inverse, a12 * inverse))
    padded = [F.pad(field, (1, 1, 1, 1)) for field in increment]
    inner = [field[..., 1:-1, 1:-1] for field in padded]
    red = (torch.arange(height, device=a11.device)[:, None] + torch.arange(width, device=a11.device)) % 2 == 0
    relaxations = (parameters.omega * red.float(), parameters.omega * (~red).float())
    for _ in range(parameters.sor_iterations):
        for relaxation in relaxations:  # red pixels depend only on black ones and back
            for unknown, other in ((0, 1), (1, 0)):
                coefficients, constant, coupling = rows[unknown]
                field = padded[unknown]
                neighbours = (
                    field[..., 1:-1, :-2],
                    field[..., 1:-1, 2:],
                    field[..., :-2, 1:-1],
                    field[..., 2:, 1:-1],
                )
                target = torch.addcmul(constant, coupling, inner[other], value=-1)
                for coefficient, neighbour in zip(coefficients, neighbours, strict=True):
                    target.addcmul_(coefficient, neighbour)
                inner[unknown].addcmul_(relaxation, target.sub_(inner[unknown]))
    return inner[0], inner[1]


def _variational_refinement(
    image0: torch.Tensor, image1: torch.Tensor, flow: torch.Tensor, parameters: DISParameters
) -> torch.Tensor:
    """OpenCV's ``VariationalRefinement::calcUV`` on B×1×h×w levels and a B×2×h×w flow (module docstring)."""
    p = parameters
    height, width = image0.shape[-2:]
    y, x = torch.meshgrid(
        torch.arange(height, device=image0.device, dtype=torch.float32),
        torch.arange(width, device=image0.device, dtype=torch.float32),
        indexing="ij",
    )
    warped = _sample(image1, x + flow[:, 0], y + flow[:, 1])[:, None]
    average, temporal = 0.5 * (image0 + warped), warped - image0
    ix, iy = _central_x(average), _central_y(average)
    ixz, iyz = _central_x(temporal), _central_y(temporal)
    ixx, ixy, iyy = _central_x(ix), _central_y(ix), _central_y(iy)
    zeta2, epsilon2 = p.zeta * p.zeta, p.epsilon * p.epsilon
    # Normalisations of the data terms, fixed for this level.
    norm = ix * ix + iy * iy + zeta2
    norm_x = ixx * ixx + ixy * ixy + zeta2
    norm_y = iyy * iyy + ixy * ixy + zeta2
    has_right = torch.ones(1, 1, height, width, device=image0.device)
    has_right[..., -1] = 0
    has_below = torch.ones(1, 1, height, width, device=image0.device)
    has_below[:, :, -1] = 0
    base_u, base_v = flow[:, 0:1], flow[:, 1:2]
    du, dv = torch.zeros_like(base_u), torch.zeros_like(base_v)
    for _ in range(p.variational_iterations):
        # Data terms, linearised at the current increment (du, dv).
        brightness = temporal + ix * du + iy * dv
        weight = (p.delta / 2) / torch.sqrt(brightness * brightness / norm + epsilon2) / norm
        a11, a12, a22 = weight * ix * ix + zeta2, weight * ix * iy, weight * iy * iy + zeta2
        b1, b2 = -weight * temporal * ix, -weight * temporal * iy
        gradient_x = ixz + ixx * du + ixy * dv
        gradient_y = iyz + ixy * du + iyy * dv
        weight = (p.gamma / 2) / torch.sqrt(gradient_x**2 / norm_x + gradient_y**2 / norm_y + epsilon2)
        a11 = a11 + weight * (ixx * ixx / norm_x + ixy * ixy / norm_y)
        a12 = a12 + weight * (ixx * ixy / norm_x + ixy * iyy / norm_y)
        a22 = a22 + weight * (ixy * ixy / norm_x + iyy * iyy / norm_y)
        b1 = b1 - weight * (ixx * ixz / norm_x + ixy * iyz / norm_y)
        b2 = b2 - weight * (ixy * ixz / norm_x + iyy * iyz / norm_y)
        # Smoothness: a robust weight per pixel from the current flow's forward differences, on the
        # edges to the right and below; the raw flow's differences enter the right-hand side.
        u, v = base_u + du, base_v + dv
        smooth = (p.alpha / 2) / torch.sqrt(
            _forward_x(u) ** 2 + _forward_x(v) ** 2 + _forward_y(u) ** 2 + _forward_y(v) ** 2 + epsilon2
        )
        right, below = smooth * has_right, smooth * has_below  # edge weights, 0 past the last column/row
        edges = right + _from_left(right) + below + _from_above(below)
        a11, a22 = a11 + edges, a22 + edges
        b1, b2 = b1 + _divergence(right, below, base_u), b2 + _divergence(right, below, base_v)
        du, dv = _red_black_sor((a11, a12, a22, b1, b2), right, below, (du, dv), p)
    return torch.cat([base_u + du, base_v + dv], dim=1)
