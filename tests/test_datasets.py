"""sepgan.datasets: one table of layout names, one detector and one reader per layout, shared by
training and evaluation, so both read the same triplets from the same folder and reject the same
folders with the same message.

Every fixture image holds a unique value (red + 256·green), so a triplet read by either side maps
back to its files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from sepgan import datasets
from sepgan.cli import app
from sepgan.data import DatasetError, Vimeo90KSeptuplet, Vimeo90KTriplet, build_triplet_dataset
from sepgan.datasets import LayoutError, detect_layout
from sepgan.evaluation.benchmarks import open_benchmark

_FILES: dict[int, Path] = {}


def _write(path: Path) -> None:
    """A small image whose pixels name the file (``_FILES``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ident = len(_FILES) + 1
    _FILES[ident] = path
    pixels = np.zeros((8, 12, 3), np.uint8)
    pixels[..., 0], pixels[..., 1] = ident % 256, ident // 256
    Image.fromarray(pixels).save(path)


def _vimeo(root: Path, count: int, list_name: str | None = None, names=("00001/0001",)) -> Path:
    for name in names:
        for index in range(1, count + 1):
            _write(root / "sequences" / name / f"im{index}.png")
    if list_name:
        (root / list_name).write_text("\n".join(names) + "\n")
    return root


def _clips(root: Path, names: tuple[str, ...], stems: tuple[str, ...]) -> Path:
    for name in names:
        for stem in stems:
            _write(root / name / f"{stem}.png")
    return root


def _training_triplets(root: Path) -> list[tuple[Path, Path, Path]]:
    return build_triplet_dataset(root, split="test", gaps=(1,)).triplets


def _evaluation_triplets(root: Path) -> list[tuple[Path, Path, Path]]:
    return [
        tuple(_FILES[int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1])] for frame in sample.load())
        for sample in open_benchmark(root)
    ]


# --- the table --------------------------------------------------------------------------------


def test_one_table_names_what_each_side_reads():
    assert datasets.BENCHMARK_NAMES == ("middlebury", "ucf101", "vimeo90k", "atd12k", "snufilm", "video")
    # `evaluate --layout` takes these, as before the readers were shared.
    assert set(datasets.EVALUATION_NAMES) == {
        "middlebury", "ucf101", "vimeo90k", "atd12k", "snufilm", "video",
        "vimeo-triplet", "vimeo-septuplet", "frame-folders",
    }  # fmt: skip
    # Training's `data.layout`: the names it has always taken, plus middlebury and ucf101.
    assert {"prepared", "vimeo90k", "vimeo-triplet", "vimeo-septuplet", "atd12k", "frame-folders"} <= set(
        datasets.TRAINING_NAMES
    )
    assert "snufilm" not in datasets.TRAINING_NAMES and "prepared" not in datasets.EVALUATION_NAMES


def test_vimeo_variant_decides_triplet_or_septuplet(tmp_path: Path):
    assert datasets.vimeo_variant(_vimeo(tmp_path / "tri", 3, "tri_testlist.txt")) == "vimeo-triplet"
    assert datasets.vimeo_variant(_vimeo(tmp_path / "sep", 7)) == "vimeo-septuplet"
    assert datasets.vimeo_variant(_vimeo(tmp_path / "plain", 3)) == "vimeo-triplet"
    assert datasets.vimeo_variant(tmp_path / "missing") is None


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
        _write(folder / f"{index}.png")
    benchmark = open_benchmark(folder, layout="frame-folders")
    assert benchmark.layout == "video" and benchmark.length == 2


# --- one detector -----------------------------------------------------------------------------


def test_one_detector_for_every_layout(tmp_path: Path):
    video = tmp_path / "videos" / "clip.mp4"
    video.parent.mkdir()
    video.write_bytes(b"")  # detection goes by the suffix only
    (tmp_path / "prepared").mkdir()
    (tmp_path / "prepared" / "prepared.json").write_text("{}")
    (tmp_path / "list.txt").write_text("")
    (tmp_path / "junk.bin").write_bytes(b"")
    for index in range(1, 8):  # frame1..frame7, as `ffmpeg -i clip.mp4 frame%d.png` names them
        _write(tmp_path / "frames" / f"frame{index}.png")
    cases = {
        video: "video",
        video.parent: "video",
        tmp_path / "list.txt": "snufilm",
        tmp_path / "prepared": "prepared",
        _vimeo(tmp_path / "tri", 3, "tri_testlist.txt"): "vimeo-triplet",
        _vimeo(tmp_path / "sep", 7): "vimeo-septuplet",
        _clips(tmp_path / "middlebury", ("Venus",), ("frame10", "frame11", "frame10i11")): "middlebury",
        _clips(tmp_path / "ucf101", ("1",), ("frame_00", "frame_01_gt", "frame_02")): "ucf101",
        _clips(tmp_path / "atd12k", ("clip",), ("frame1", "frame2", "frame3")): "atd12k",
        tmp_path / "atd12k" / "clip": "atd12k",  # one clip on its own
        tmp_path / "frames": "frame-folders",  # frame1..frame7 is a sequence, not a clip
    }
    assert {path: detect_layout(path) for path in cases} == cases
    with pytest.raises(LayoutError, match="no such file or folder"):
        detect_layout(tmp_path / "absent")
    with pytest.raises(LayoutError, match="not a video file"):
        detect_layout(tmp_path / "junk.bin")


# --- one reader per layout, read identically by both sides --------------------------------------


@pytest.mark.parametrize(
    ("layout", "make"),
    [
        ("vimeo-triplet", lambda root: _vimeo(root, 3, "tri_testlist.txt", ("00001/0001", "00002/0003"))),
        ("vimeo-septuplet", lambda root: _vimeo(root, 7, "sep_testlist.txt", ("00001/0001", "00002/0003"))),
        ("vimeo-septuplet", lambda root: _vimeo(root, 7, None, ("00002/0003", "00001/0001"))),
        ("atd12k", lambda root: _clips(root, ("Japan_b", "Disney_a"), ("frame1", "frame2", "frame3"))),
        (
            "middlebury",
            lambda root: _clips(root, ("Venus", "Beanbags"), ("frame10", "frame11", "frame10i11")),
        ),
        ("ucf101", lambda root: _clips(root, ("2", "1"), ("frame_00", "frame_01_gt", "frame_02"))),
    ],
)
def test_each_layout_gives_both_sides_the_same_triplets_in_the_same_order(tmp_path: Path, layout, make):
    root = make(tmp_path / "set")
    assert detect_layout(root) == layout
    training = _training_triplets(root)
    assert training and _evaluation_triplets(root) == training
    assert all(target.parent == frame0.parent for frame0, _, target in training)


def test_a_frame_folder_is_read_as_one_sequence_by_both_sides(tmp_path: Path):
    for index in range(1, 8):
        _write(tmp_path / "frames" / f"{index}.png")
    training = _training_triplets(tmp_path / "frames")
    assert [target.stem for _, _, target in training] == ["2", "3", "4", "5", "6"]
    # Evaluation scores each dropped frame from its two neighbours: every other triplet.
    assert _evaluation_triplets(tmp_path / "frames") == training[::2]


# --- the same folder rejected by both sides, with one message -----------------------------------


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            ("frame1.png", "frame1.jpg", "frame2.png", "frame3.png"),
            r"frame1\.\* is ambiguous \(frame1\.jpg, frame1\.png\)",
        ),
        (("frame1.png", "frame3.png"), r"frame2\.\* is missing"),
    ],
)
def test_a_bad_clip_is_rejected_by_both_sides(tmp_path: Path, files, message):
    root = tmp_path / "atd"
    for name in files:
        _write(root / "clip" / name)
    _clips(root, ("good",), ("frame1", "frame2", "frame3"))
    assert detect_layout(root) == "atd12k"
    with pytest.raises(DatasetError, match=message) as training:
        build_triplet_dataset(root)
    with pytest.raises(LayoutError, match=message) as evaluation:
        open_benchmark(root)
    assert str(training.value) == str(evaluation.value)
    assert str(training.value).startswith(f"{root / 'clip'}: ")


def test_the_ambiguous_clip_is_one_error_line_from_both_commands(tmp_path: Path):
    for name in ("frame1.png", "frame1.jpg", "frame2.png", "frame3.png"):
        _write(tmp_path / "atd" / "clip" / name)
    expected = f"error: {tmp_path / 'atd' / 'clip'}: frame1.* is ambiguous (frame1.jpg, frame1.png)"
    commands = [
        ["evaluate", str(tmp_path / "atd"), "-m", "average", "-o", str(tmp_path / "report"), "--no-progress"],
        ["train", f"data.paths=[{tmp_path / 'atd'}]", "-o", str(tmp_path / "run"), "--no-progress"],
    ]
    for command in commands:
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        assert result.output.strip().startswith(expected), result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "report").exists() and not (tmp_path / "run").exists()


@pytest.mark.parametrize("split", [False, True])
def test_a_middlebury_sequence_missing_a_frame_is_named_in_a_warning(tmp_path, caplog, split):
    from sepgan.datasets import middlebury_triplets

    if split:  # the official layout: inputs and ground truth in two trees
        _clips(tmp_path / "other-data", ("Venus", "Urban"), ("frame10", "frame11"))
        _clips(tmp_path / "other-gt-interp", ("Venus",), ("frame10i11",))
    else:
        _clips(tmp_path, ("Venus",), ("frame10", "frame11", "frame10i11"))
        _clips(tmp_path, ("Urban",), ("frame10", "frame11"))
    with caplog.at_level("WARNING", logger="sepgan.datasets"):
        triplets = middlebury_triplets(tmp_path)
    assert [triplet.name for triplet in triplets] == ["Venus"]
    assert len(caplog.records) == 1
    assert "middlebury sequence Urban has no" in caplog.text and "frame10i11.png" in caplog.text
    assert "left out of the scores" in caplog.text
