"""sepgan.layouts: one set of layout names for training and evaluation, every name accepted by both."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sepgan import layouts
from sepgan.data import Vimeo90KSeptuplet, Vimeo90KTriplet, build_triplet_dataset
from sepgan.evaluation.layouts import open_benchmark
from sepgan.media.frames import from_uint8, save_image


def _write(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(from_uint8(np.full((16, 24, 3), value, np.uint8)), path)


def _vimeo(root: Path, count: int, list_name: str | None = None) -> Path:
    for index in range(1, count + 1):
        _write(root / "sequences" / "00001" / "0001" / f"im{index}.png", 10 * index)
    if list_name:
        (root / list_name).write_text("00001/0001\n")
    return root


def test_every_name_of_each_side_is_in_the_one_table():
    assert set(layouts.TRAINING_LAYOUTS) | set(layouts.EVALUATION_LAYOUTS) <= set(layouts.LAYOUTS)
    assert {layouts.evaluation_layout(name) for name in layouts.LAYOUTS} - {"prepared"} <= set(
        layouts.EVALUATION_LAYOUTS
    )


def test_vimeo_variant_decides_triplet_or_septuplet(tmp_path: Path):
    assert layouts.vimeo_variant(_vimeo(tmp_path / "tri", 3, "tri_testlist.txt")) == "vimeo-triplet"
    assert layouts.vimeo_variant(_vimeo(tmp_path / "sep", 7)) == "vimeo-septuplet"
    assert layouts.vimeo_variant(_vimeo(tmp_path / "plain", 3)) == "vimeo-triplet"
    assert layouts.vimeo_variant(tmp_path / "missing") is None


def test_training_reads_vimeo90k_as_the_variant_on_disk(tmp_path: Path):
    triplets = build_triplet_dataset(_vimeo(tmp_path / "tri", 3, "tri_trainlist.txt"), layout="vimeo90k")
    septuplets = build_triplet_dataset(_vimeo(tmp_path / "sep", 7), layout="vimeo90k", gaps=1)
    assert isinstance(triplets, Vimeo90KTriplet) and len(triplets) == 1
    assert isinstance(septuplets, Vimeo90KSeptuplet) and len(septuplets) == 5


def test_evaluation_reads_the_training_names(tmp_path: Path):
    root = _vimeo(tmp_path / "sep", 7)
    for name in ("vimeo-septuplet", "vimeo-triplet", "vimeo90k"):
        benchmark = open_benchmark(root, layout=name)
        assert benchmark.layout == "vimeo90k" and benchmark.length == 5
    folder = tmp_path / "frames"
    for index in range(1, 6):
        _write(folder / f"{index}.png", index)
    benchmark = open_benchmark(folder, layout="frame-folders")
    assert benchmark.layout == "video" and benchmark.length == 2
