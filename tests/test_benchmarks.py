"""Every benchmark layout as evaluation opens it, on small generated fixtures, plus the reference figure on
the real dev sets. Detection and the readers are sepgan.datasets' (tests/test_datasets.py)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from sepgan.datasets import LayoutError, detect_layout
from sepgan.evaluation.benchmarks import open_benchmark
from sepgan.media.frames import from_uint8, save_image

EVAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval"


def _frame(value: int, size: tuple[int, int] = (16, 24)) -> np.ndarray:
    return np.full((*size, 3), value, np.uint8)


def _write(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(from_uint8(_frame(value)), path)


def _values(benchmark) -> list[tuple[int, int, int]]:
    return [tuple(int(frame[0, 0, 0]) for frame in sample.load()) for sample in benchmark]


def test_middlebury(tmp_path: Path):
    for index, name in enumerate(["Alpha", "Beta"]):
        _write(tmp_path / name / "frame10.png", 10 + index)
        _write(tmp_path / name / "frame11.png", 30 + index)
        _write(tmp_path / name / "frame10i11.png", 20 + index)
    (tmp_path / "notes").mkdir()
    assert detect_layout(tmp_path) == "middlebury"
    benchmark = open_benchmark(tmp_path)
    assert benchmark.length == 2
    assert [s.name for s in benchmark] == ["Alpha", "Beta"]
    assert _values(benchmark) == [(10, 30, 20), (11, 31, 21)]


def test_middlebury_official_split(tmp_path: Path):
    _write(tmp_path / "other-data" / "Venus" / "frame10.png", 1)
    _write(tmp_path / "other-data" / "Venus" / "frame11.png", 3)
    _write(tmp_path / "other-gt-interp" / "Venus" / "frame10i11.png", 2)
    assert _values(open_benchmark(tmp_path, layout="middlebury")) == [(1, 3, 2)]


def test_ucf101(tmp_path: Path):
    _write(tmp_path / "1" / "frame_00.png", 5)
    _write(tmp_path / "1" / "frame_01_gt.png", 6)
    _write(tmp_path / "1" / "frame_02.png", 7)
    assert detect_layout(tmp_path) == "ucf101"
    assert _values(open_benchmark(tmp_path)) == [(5, 7, 6)]


def test_vimeo90k_triplet_list(tmp_path: Path):
    for name in ["00001/0001", "00001/0002"]:
        for index in (1, 2, 3):
            _write(tmp_path / "sequences" / name / f"im{index}.png", index * 10)
    (tmp_path / "tri_testlist.txt").write_text("00001/0002\n\n")
    assert detect_layout(tmp_path) == "vimeo-triplet"
    benchmark = open_benchmark(tmp_path)
    assert benchmark.layout == "vimeo90k"
    assert [s.name for s in benchmark] == ["00001/0002"]
    assert _values(benchmark) == [(10, 30, 20)]


def test_vimeo90k_septuplets_give_overlapping_triplets(tmp_path: Path):
    for index in range(1, 8):
        _write(tmp_path / "sequences" / "00001" / "0266" / f"im{index}.png", index)
    assert detect_layout(tmp_path) == "vimeo-septuplet"
    benchmark = open_benchmark(tmp_path)
    assert benchmark.layout == "vimeo90k" and benchmark.length == 5
    assert [s.name for s in benchmark][:2] == ["00001/0266/im2", "00001/0266/im3"]
    assert _values(benchmark)[0] == (1, 3, 2) and _values(benchmark)[-1] == (5, 7, 6)


def test_vimeo90k_test_split_never_falls_back_to_the_training_list(tmp_path: Path):
    for index in range(1, 8):
        _write(tmp_path / "sequences" / "00001" / "0266" / f"im{index}.png", index)
    (tmp_path / "sep_trainlist.txt").write_text("00001/0266\n")
    with pytest.raises(LayoutError, match="sep_testlist.txt is missing"):
        open_benchmark(tmp_path)


def test_atd12k(tmp_path: Path):
    clip = tmp_path / "Disney_v4_0_000024_s2"
    _write(clip / "frame1.png", 1)
    _write(clip / "frame2.png", 2)
    _write(clip / "frame3.png", 3)
    assert detect_layout(tmp_path) == "atd12k"
    assert _values(open_benchmark(tmp_path)) == [(1, 3, 2)]
    assert [s.name for s in open_benchmark(clip)] == [clip.name]  # one clip on its own


def test_atd12k_clip_without_its_target_is_an_error(tmp_path: Path):
    _write(tmp_path / "clip" / "frame1.png", 1)
    _write(tmp_path / "clip" / "frame3.png", 3)
    with pytest.raises(LayoutError, match=r"clip: frame2\.\* is missing"):
        open_benchmark(tmp_path, layout="atd12k")


def test_snufilm_list_with_foreign_prefix(tmp_path: Path):
    folder = tmp_path / "test" / "GOPRO_test" / "GOPR0384"
    for index, value in ((1, 1), (3, 2), (5, 3)):
        _write(folder / f"{index:06d}.png", value)
    lines = " ".join(f"data/SNU-FILM/test/GOPRO_test/GOPR0384/{i:06d}.png" for i in (1, 3, 5))
    (tmp_path / "eval_modes").mkdir()
    (tmp_path / "eval_modes" / "test-easy.txt").write_text(lines + "\n")
    assert detect_layout(tmp_path, snu_split="easy") == "snufilm"
    benchmark = open_benchmark(tmp_path, snu_split="easy")
    assert _values(benchmark) == [(1, 3, 2)]  # the list's middle path is the target
    with pytest.raises(LayoutError, match="test-hard"):
        open_benchmark(tmp_path, layout="snufilm", snu_split="hard")


def test_frame_folder_drops_every_other_frame(tmp_path: Path):
    for index in range(1, 7):  # 6 frames → triplets (1,3;2), (3,5;4)
        _write(tmp_path / f"{index}.png", index)
    assert detect_layout(tmp_path) == "frame-folders"
    benchmark = open_benchmark(tmp_path)
    assert benchmark.layout == "video" and [s.name for s in benchmark] == ["2", "4"]
    assert _values(benchmark) == [(1, 3, 2), (3, 5, 4)]


def test_frames_named_frame1_to_n_are_a_sequence_not_a_clip(tmp_path: Path):
    for index in range(1, 6):  # ffmpeg's frame%d.png
        _write(tmp_path / f"frame{index}.png", index)
    benchmark = open_benchmark(tmp_path)
    assert benchmark.layout == "video" and _values(benchmark) == [(1, 3, 2), (3, 5, 4)]


def test_video_file_streams_triplets(tmp_path: Path):
    av = pytest.importorskip("av")
    path = tmp_path / "clip.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=10)  # lossless, so the values survive
        stream.width, stream.height, stream.pix_fmt = 24, 16, "bgr0"
        for index in range(7):
            frame = av.VideoFrame.from_ndarray(_frame(index * 30), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert detect_layout(path) == "video"
    benchmark = open_benchmark(path)
    assert [s.name for s in benchmark] == ["frame000001", "frame000003", "frame000005"]
    assert _values(benchmark)[1] == (60, 120, 90)


def test_missing_and_empty_paths_are_user_errors(tmp_path: Path):
    with pytest.raises(LayoutError, match="no such file"):
        open_benchmark(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LayoutError, match="matches no benchmark layout"):
        open_benchmark(tmp_path / "empty")
    with pytest.raises(LayoutError, match="no ucf101 samples"):
        open_benchmark(tmp_path / "empty", layout="ucf101")
    (tmp_path / "prepared").mkdir()
    (tmp_path / "prepared" / "prepared.json").write_text("{}")
    with pytest.raises(LayoutError, match="does not read"):
        open_benchmark(tmp_path / "prepared")
    with pytest.raises(LayoutError, match="unknown layout 'prepared'"):
        open_benchmark(tmp_path / "prepared", layout="prepared")


@pytest.mark.parametrize(("name", "expected"), [("middlebury-other", 28.00), ("davis", 21.90)])
def test_average_baseline_reproduces_reference_psnr(name: str, expected: float):
    """shared/data/README.md: the average of the inputs scores 28.00 dB and 21.90 dB.

    Those figures were measured independently.
    """
    root = EVAL_DATA / name
    if not root.is_dir():
        pytest.skip(f"{root} is absent (the real eval data lives in shared/, beside the checkout)")
    from sepgan.evaluation.methods import AverageMethod
    from sepgan.evaluation.metrics import psnr

    average = AverageMethod()
    scores = [
        psnr(average(frame0, frame1), target)
        for frame0, frame1, target in (s.load() for s in open_benchmark(root))
    ]
    assert np.mean(scores) == pytest.approx(expected, abs=0.02)


def test_frame_folder_at_factor_three_keeps_every_third_frame(tmp_path: Path):
    for index in range(8):  # 8 frames → groups (0, 3; 1, 2), (3, 6; 4, 5); frame 7 is left over
        _write(tmp_path / f"{index}.png", 10 * index)
    benchmark = open_benchmark(tmp_path, factor=3)
    assert benchmark.layout == "video" and benchmark.length == 2
    assert benchmark.times == (Fraction(1, 3), Fraction(2, 3))
    samples = list(benchmark)
    assert [s.target_names for s in samples] == [("1", "2"), ("4", "5")]
    values = [
        (int(frame0[0, 0, 0]), int(frame1[0, 0, 0]), [int(t[0, 0, 0]) for t in targets])
        for frame0, frame1, targets in (s.load_group() for s in samples)
    ]
    assert values == [(0, 30, [10, 20]), (30, 60, [40, 50])]
    with pytest.raises(ValueError, match="load_group"):
        samples[0].load()


def test_video_file_at_factor_four_streams_groups(tmp_path: Path):
    from synthetic import make_clip

    path = make_clip(tmp_path / "clip.mkv", [_frame(index * 20) for index in range(10)])  # ffv1: lossless
    benchmark = open_benchmark(path, factor=4)
    samples = list(benchmark)
    assert [s.target_names for s in samples] == [
        ("frame000001", "frame000002", "frame000003"),
        ("frame000005", "frame000006", "frame000007"),
    ]
    frame0, frame1, targets = samples[1].load_group()
    assert (frame0[0, 0, 0], frame1[0, 0, 0], [t[0, 0, 0] for t in targets]) == (80, 160, [100, 120, 140])


def test_factors_other_than_two_need_a_video_or_a_frame_folder(tmp_path: Path):
    for name in ("frame10", "frame11", "frame10i11"):
        _write(tmp_path / "clip" / f"{name}.png", 0)
    assert open_benchmark(tmp_path, factor=2).length == 1
    with pytest.raises(LayoutError, match="middlebury benchmark, which holds triplets") as error:
        open_benchmark(tmp_path, factor=3)
    assert error.value.parameter == "factor"
    for index in range(4):
        _write(tmp_path / "short" / f"{index}.png", index)
    with pytest.raises(LayoutError, match="too few frames for a factor of 4"):
        open_benchmark(tmp_path / "short", factor=4)


def test_the_log_names_the_layout_read_and_an_existing_report_needs_overwrite(tmp_path):
    from sepgan.atomic import OutputExistsError
    from sepgan.evaluation.pipeline import open_benchmarks, run_evaluation
    from synthetic import moving_frames, write_frame_folder

    folder = write_frame_folder(tmp_path / "frames", moving_frames(5, 24, 32))
    for layout, expected in [
        ("frame-folders", "frames: frame-folders layout (scored as video), 2 samples"),
        ("video", "frames: video layout, 2 samples"),
    ]:
        lines = []
        open_benchmarks([folder], layout, log=lines.append)
        assert lines == [expected]
    report = tmp_path / "report"
    report.mkdir()
    (report / "table.md").write_text("an earlier run")
    with pytest.raises(OutputExistsError, match="already exists; use overwrite"):
        run_evaluation([folder], methods="average", output=report, progress=False, log=lambda _: None)
    assert (report / "table.md").read_text() == "an earlier run"
    run = run_evaluation(
        [folder], methods="average", output=report, progress=False, log=lambda _: None, overwrite=True
    )
    assert run.output == report and (report / "table.md").read_text() != "an earlier run"
