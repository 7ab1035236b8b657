"""Triplet datasets and paired augmentations for training frame interpolation.

Every dataset yields ``(frame0, frame1, target)``: three float32 tensors
shaped 3×h×w with values in [0, 1], ``target`` being the true middle frame.
Layouts: Vimeo-90K triplets and septuplets, ATD-12K, folders of frames and
video files (decoded once into a uint8 cache). ``build_triplet_dataset``
detects the layout of each path; ``PairedAugment`` applies one random crop,
flip, temporal reversal and channel order to all three frames of a triplet.
"""

from sepgan.data.augment import PairedAugment
from sepgan.data.build import LAYOUTS, build_triplet_dataset, detect_layout
from sepgan.data.layouts import ATD12K, FrameFolders, Vimeo90KSeptuplet, Vimeo90KTriplet
from sepgan.data.triplets import DatasetError, ImageTripletDataset, TripletDataset
from sepgan.data.video_triplets import VideoTriplets, default_cache_dir

__all__ = [
    "ATD12K",
    "LAYOUTS",
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
    "detect_layout",
]
