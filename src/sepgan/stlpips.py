"""ST-LPIPS, the shift-tolerant LPIPS (Ghildyal & Liu, ECCV 2022), on the stlpips-pytorch wheel's weights.

LPIPS (Zhang et al., CVPR 2018) compares two images through a trained
network's features: each layer's features are unit-normalised over channels,
their squared difference weighted per channel by a learned 1×1 head, averaged
over space, and the layers summed. 0 for identical images; larger is more
different, and blur scores high where PSNR barely moves. ST-LPIPS retrains it
on an AlexNet whose downsampling is anti-aliased, so that a shift of a pixel
or two, which people do not notice, costs little (plain LPIPS and PSNR
punish it).

**Why this module builds the network itself.** The wheel's modules import
torchvision, IPython and torchsummary at their top, and this project has no
torchvision and must not depend on it. None of the three is used by the
shift-tolerant AlexNet: torchvision builds only the original LPIPS trunks
(``variant=''``, whose weights come from torchvision's model hub, a download)
and the vanilla VGG. The shift-tolerant AlexNet is made of plain torch layers,
and the wheel's ``weights/vST0.0/alex_shift_tolerant.pth`` (9.9 MB, 20
tensors) holds every parameter: trunk, blur filters, scaling constants and
heads; nothing is downloaded. So the wheel is used for that file only (found
with :func:`importlib.util.find_spec`, none of its modules imported), and the
network is rebuilt here with the wheel's parameter names, loaded with
``torch.load(weights_only=True)`` and ``strict=True`` (the wheel loads with
``strict=False``, which would leave a missing tensor silently random).
``tests/test_stlpips.py`` checks the distance against the wheel's own
``stlpips.LPIPS(net="alex", variant="shift_tolerant")``, imported with empty
stand-ins for its three unused imports.

**The network** (the wheel's ``invariant_networks.alexnet``, variant
``shift_tolerant``, blur filter size 3). Input: B×3×H×W in [0, 1], mapped to
[−1, 1], then shifted and scaled per channel by LPIPS v0.1's scaling layer.
AlexNet's five convolutions (11×11, 5×5, 3×3, 3×3, 3×3) with stride 1; every
downsampling (conv1's stride 4, the max-pools' stride 2) becomes a max-pool
of stride 1 (where AlexNet had one) and a blur-pool: reflection padding of
2 px, a [1 2 1]ᵀ[1 2 1]/16 blur, every second pixel (Zhang, "Making
convolutional networks shift-invariant again", ICML 2019). The features
compared are the five ReLUs: 64, 192, 384, 256, 256 channels at ½, ¼, ⅛, ⅛,
⅛ of the input's size. Images need a shorter side of at least
:data:`MIN_SIDE` = 21 px (the third blur-pool's reflection padding needs
3 px).

Cost: about 23 GMAC per 640×480 image in float32, a third of it conv1
(11×11 at full size): 2.3–2.7 s an image, 5 s a pair, on the shared 2-core
CPU. :class:`STLPIPSScorer` computes a target's features once for every
prediction scored against it, so k methods cost k + 1 images, not 2k.
"""

from __future__ import annotations

import functools
import importlib.util
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "INSTALL_HINT",
    "MIN_SIDE",
    "WEIGHTS_FILE",
    "WEIGHTS_PACKAGE",
    "STLPIPS",
    "STLPIPSScorer",
    "STLPIPSUnavailable",
    "load_stlpips",
    "stlpips_scorer",
    "weights_path",
]

WEIGHTS_PACKAGE = "stlpips_pytorch"  # the import name of the stlpips-pytorch wheel (PyPI), BSD-2
WEIGHTS_FILE = "weights/vST0.0/alex_shift_tolerant.pth"
INSTALL_HINT = "pip install 'sepgan[perceptual]'"
MIN_SIDE = 21  # px: smaller images leave the third blur-pool under 3 px, too few for its padding

_TRUNK_CHANNELS = (64, 192, 384, 256, 256)  # relu1 ... relu5
_EPSILON = 1e-10  # LPIPS's normalize_tensor


class STLPIPSUnavailable(RuntimeError):
    """stlpips-pytorch is not installed, or its wheel lacks the weight file."""


def weights_path() -> Path | None:
    """The shift-tolerant AlexNet's weight file inside the installed wheel, or None when there is none.

    Nothing of the wheel is imported (its modules need torchvision)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / WEIGHTS_FILE
        if path.is_file():
            return path
    return None


class _BlurPool(nn.Module):
    """Anti-aliased downsampling by 2 (the wheel's ``Downsample(filt_size=3, pad_more=True)``):
    reflection padding of 2 px, a per-channel [1 2 1]ᵀ[1 2 1]/16 blur, stride 2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        kernel = taps[:, None] * taps[None, :]
        self.register_buffer("filt", (kernel / kernel.sum()).expand(channels, 1, 3, 3).clone())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        padded = F.pad(features, (2, 2, 2, 2), mode="reflect")
        return F.conv2d(padded, self.filt, stride=2, groups=features.shape[1])


def _numbered(layers: dict[int, nn.Module]) -> nn.Sequential:
    """A Sequential whose children keep the wheel's layer numbers, so its parameter names match."""
    return nn.Sequential(OrderedDict((str(index), layer) for index, layer in layers.items()))


class _ShiftTolerantAlexNet(nn.Module):
    """The trunk; ``forward`` returns the five ReLU outputs (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        relu = functools.partial(nn.ReLU, inplace=True)
        self.slice1 = _numbered({0: nn.Conv2d(3, 64, 11, padding=2), 1: _BlurPool(64), 2: relu()})
        self.slice2 = _numbered(
            {3: nn.MaxPool2d(3, 1), 4: _BlurPool(64), 5: nn.Conv2d(64, 192, 5, padding=2), 6: relu()}
        )
        self.slice3 = _numbered(
            {7: nn.MaxPool2d(3, 1), 8: _BlurPool(192), 9: nn.Conv2d(192, 384, 3, padding=1), 10: relu()}
        )
        self.slice4 = _numbered({11: nn.Conv2d(384, 256, 3, padding=1), 12: relu()})
        self.slice5 = _numbered({13: nn.Conv2d(256, 256, 3, padding=1), 14: relu()})

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for part in (self.slice1, self.slice2, self.slice3, self.slice4, self.slice5):
            image = part(image)
            features.append(image)
        return features


class _ScalingLayer(nn.Module):
    """LPIPS v0.1's input normalisation: ``(x − shift) / scale`` per channel, on x in [−1, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188])[None, :, None, None])
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450])[None, :, None, None])

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return (image - self.shift) / self.scale


class _Head(nn.Module):
    """A learned 1×1 convolution to one channel, no bias (named ``model.1`` as in the wheel, whose
    ``model.0`` is a dropout that does nothing at evaluation)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = _numbered({1: nn.Conv2d(channels, 1, 1, bias=False)})

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.model(features)


def _unit(features: torch.Tensor) -> torch.Tensor:
    """Features divided by their L2 norm over channels (LPIPS's ``normalize_tensor``)."""
    return features / (features.pow(2).sum(dim=1, keepdim=True).sqrt() + _EPSILON)


class STLPIPS(nn.Module):
    """ST-LPIPS with the shift-tolerant AlexNet; build it with :func:`load_stlpips` for the weights.

    ``forward(image0, image1)``: two B×3×H×W float tensors in [0, 1] (RGB, shorter side at least
    :data:`MIN_SIDE`) → B distances (0 for identical images, lower is more alike).
    :meth:`features` and :meth:`distance` split it, so one image's features can be reused.
    """

    def __init__(self) -> None:
        super().__init__()
        self.scaling_layer = _ScalingLayer()
        self.net = _ShiftTolerantAlexNet()
        for index, channels in enumerate(_TRUNK_CHANNELS):
            self.add_module(f"lin{index}", _Head(channels))

    def features(self, image: torch.Tensor) -> list[torch.Tensor]:
        """The five unit-normalised feature maps of B×3×H×W ``image`` in [0, 1]."""
        if min(image.shape[-2:]) < MIN_SIDE:
            raise ValueError(
                f"ST-LPIPS needs images of at least {MIN_SIDE}×{MIN_SIDE}, got {tuple(image.shape)}"
            )
        return [_unit(features) for features in self.net(self.scaling_layer(image * 2 - 1))]

    def distance(self, features0: list[torch.Tensor], features1: list[torch.Tensor]) -> torch.Tensor:
        """B distances between two images' :meth:`features`."""
        total = torch.zeros(features0[0].shape[0], device=features0[0].device)
        for index, (part0, part1) in enumerate(zip(features0, features1, strict=True)):
            head = getattr(self, f"lin{index}")
            total = total + head((part0 - part1) ** 2).mean(dim=(1, 2, 3))
        return total

    def forward(self, image0: torch.Tensor, image1: torch.Tensor) -> torch.Tensor:
        return self.distance(self.features(image0), self.features(image1))


def load_stlpips(device: str | torch.device = "cpu") -> STLPIPS:
    """:class:`STLPIPS` with the wheel's weights, in evaluation mode on ``device``, without gradients.

    Raises :class:`STLPIPSUnavailable` when stlpips-pytorch is not installed (the ``perceptual``
    extra) or holds no ``weights/vST0.0/alex_shift_tolerant.pth``.
    """
    path = weights_path()
    if path is None:
        raise STLPIPSUnavailable(f"ST-LPIPS needs stlpips-pytorch, which is not installed: {INSTALL_HINT}")
    model = STLPIPS()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    model.requires_grad_(False)
    return model.eval().to(device)


class STLPIPSScorer:
    """ST-LPIPS of H×W×3 uint8 images, the form :mod:`sepgan.metrics` scores: ``scorer(prediction,
    target)`` → float, 0 for identical images (lower is better).

    The last target's features are kept, with a copy of the target: a target equal to it in every
    sample is not run through the network again (evaluation scores every method's output against
    one target in turn). The comparison is of contents, so a buffer refilled in place is not
    mistaken for the old image.
    """

    def __init__(self, model: STLPIPS, device: str | torch.device = "cpu") -> None:
        self.model = model
        self.device = torch.device(device)
        self._target: np.ndarray | None = None
        self._target_features: list[torch.Tensor] = []

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        return (
            torch.from_numpy(np.ascontiguousarray(image)).to(self.device).permute(2, 0, 1)[None].float() / 255
        )

    @torch.inference_mode()
    def __call__(self, prediction: np.ndarray, target: np.ndarray) -> float:
        if self._target is None or not np.array_equal(self._target, target):
            self._target_features = self.model.features(self._tensor(target))
            self._target = target.copy()
        features = self.model.features(self._tensor(prediction))
        return float(self.model.distance(features, self._target_features)[0])  # a sync point on CUDA


@functools.cache
def stlpips_scorer(device: str = "cpu") -> STLPIPSScorer:
    """The process's :class:`STLPIPSScorer` on ``device``, loaded on first use (:func:`load_stlpips`)."""
    return STLPIPSScorer(load_stlpips(device), device)
