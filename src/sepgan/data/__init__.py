"""Triplet datasets and paired augmentations for training frame interpolation.

Every dataset yields ``(frame0, frame1, target)``: three float32 tensors
shaped 3×h×w with values in [0, 1], ``target`` being the true middle frame.
Layouts: Vimeo-90K triplets and septuplets, ATD-12K, Middlebury, UCF101,
folders of frames, video files (decoded once into a uint8 cache) and prepared
sets; their names, detection and readers are those of :mod:`sepgan.datasets`,
shared with evaluation. ``build_triplet_dataset`` reads each path as the
layout detected there; ``PairedAugment`` applies one random crop, flip,
temporal reversal and channel order to all three frames of a triplet.
"""

from sepgan.data.augment import PairedAugment
from sepgan.data.build import build_triplet_dataset
from sepgan.data.image_triplets import ATD12K, FrameFolders, Vimeo90KSeptuplet, Vimeo90KTriplet
from sepgan.data.triplets import ImageTripletDataset, TripletDataset
from sepgan.data.video_triplets import VideoTriplets, default_cache_dir
from sepgan.datasets import DatasetError

__all__ = [
    "ATD12K",
    "DatasetError",
    "FrameFolders",
    "ImageTripletDataset",
    "PairedAugment",
    "TripletDataset",
    "VideoTriplets",
    "Vimeo90KSeptuplet",
    "Vimeo90KTriplet",
    "build_triplet_dataset",
    "default_cache_dir",
]
