"""`sepgan prepare` over a folder tree.

Sources, screens (cuts, fades, static, flow failures), caps and workers.
"""

from __future__ import annotations

import json
import shutil

import pytest

from sepgan.config import load_train_config
from sepgan.data.prepared import prepare_dataset
from sepgan.data.prepared_triplets import PreparedTriplets
from sepgan.training import train
from synthetic import faded, make_clip, moving_frames, write_frame_folder


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A tree of sources.

    root/shots/{cut.mkv, sub/sequence/}, root/faded.mkv, root/still/,
    root/notes.md, root/raw.data (a clip).
    """
    root = tmp_path_factory.mktemp("tree")
    shot_a = moving_frames(9, 64, 80, shift=(0, 1), seed=11)
    shot_b = moving_frames(9, 64, 80, shift=(-1, 0), seed=12)
    (root / "shots").mkdir()
    make_clip(root / "shots" / "cut.mkv", shot_a + shot_b)  # a cut between frames 8 and 9
    write_frame_folder(root / "shots" / "sub" / "sequence", moving_frames(7, 64, 80, shift=(2, -1), seed=13))
    make_clip(root / "faded.mkv", faded(moving_frames(12, 64, 80, shift=(1, 1), seed=14), start=6, step=0.15))
    write_frame_folder(root / "still", [moving_frames(1, 64, 80, seed=15)[0]] * 6)
    (root / "notes.md").write_text("# not a clip\n")
    make_clip(root / "raw.mkv", moving_frames(7, 64, 80, shift=(1, -1), seed=16))
    (root / "raw.mkv").rename(root / "raw.data")  # a clip without a video suffix
    return root


def test_prepare_reports_every_source_and_screens_bad_triplets(tree, tmp_path):
    reports = []
    summary = prepare_dataset(
        [tree], tmp_path / "set", gaps=(1,), crop_size=48, stride=1, on_source=reports.append
    )
    by_name = {report.name.rsplit("/", 1)[-1]: report for report in summary.sources}
    assert set(by_name) == {"shots", "faded.mkv", "still", "raw.data"}  # notes.md is not a clip
    assert len(reports) == 4
    shots = by_name["shots"]
    assert shots.clips == 2 and shots.frames == 18 + 7
    # cut.mkv gives 16 gap-1 triplets, of which the two straddling the cut go; the sequence gives 5
    assert shots.skipped.get("cut") == 2 and shots.kept == 14 + 5
    faded_report = by_name["faded.mkv"]
    assert faded_report.skipped.get("fade", 0) >= 4 and faded_report.kept == 10 - faded_report.skipped["fade"]
    still = by_name["still"]
    assert still.kept == 0 and still.skipped == {"static": 4} and still.note
    assert by_name["raw.data"].kept == 5
    index = json.loads((tmp_path / "set" / "prepared.json").read_text())
    assert index["count"] == summary.count == len(PreparedTriplets(tmp_path / "set"))
    assert {r["name"].rsplit("/", 1)[-1] for r in index["reports"]} == set(by_name)
    assert not any(t["frame"] <= 8 < t["frame"] + 2 for t in index["triplets"] if t["clip"] == "cut.mkv")


def test_a_poster_image_beside_clips_does_not_hide_them(tmp_path):
    show = tmp_path / "footage" / "show"
    show.mkdir(parents=True)
    make_clip(show / "episode.mkv", moving_frames(7, 64, 80, shift=(1, 1), seed=17))
    write_frame_folder(show, [moving_frames(1, 64, 80, seed=18)[0]], suffix=".jpg")  # poster 00000.jpg
    summary = prepare_dataset([tmp_path / "footage"], tmp_path / "set", gaps=(1,), crop_size=48, stride=1)
    assert [(r.name.rsplit("/", 1)[-1], r.clips, r.kept) for r in summary.sources] == [("show", 1, 5)]


@pytest.mark.slow
def test_prepare_caps_each_source_and_is_the_same_with_workers(tree, tmp_path):
    options = {"gaps": (1, 2), "crop_size": 48, "stride": 1, "max_per_source": 6, "seed": 3}
    one = prepare_dataset([tree], tmp_path / "one", **options)
    two = prepare_dataset([tree], tmp_path / "two", workers=2, **options)
    assert all(report.kept <= 6 for report in one.sources)
    assert {r.name: r.kept for r in one.sources} == {r.name: r.kept for r in two.sources}
    assert one.sources[0].skipped.get("cap", 0) > 0
    for name in ("frames.u8", "flows.f16"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_training_validates_on_held_out_sources(tree, tmp_path):
    prepare_dataset([tree / "shots"], tmp_path / "train", gaps=(1,), crop_size=32, stride=1)
    prepare_dataset([tree / "raw.data"], tmp_path / "val", gaps=(1,), crop_size=48, stride=2)
    config = load_train_config(
        None,
        [
            f"output_dir={tmp_path / 'run'}", f"data.paths=[{tmp_path / 'train'}]",
            f"data.validation_paths=[{tmp_path / 'val'}]", "data.crop_size=32", "data.batch_size=4",
            "data.validation_size=8", "max_steps=2", "validate_every=2", "checkpoint_every=2",
            "image_every=2", "device=cpu", "model.name=flow-sepconv-tiny",
        ],
    )  # fmt: skip
    result = train(config, progress=False)
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    validation = [line["validation/psnr"] for line in lines if "validation/psnr" in line]
    # step 0 is the untrained model, i.e. the flow baseline, on the three whole 48² held-out crops
    assert len(validation) == 2 and result.validation_psnr == validation[-1]
    best = json.loads((tmp_path / "run" / "generator-best" / "config.json").read_text())["metadata"]
    assert best["validation_psnr"] == max(validation) and best["step"] in (0, 2)
    shutil.rmtree(tmp_path / "run")
    # a frame folder of any size validates on fixed crops of data.crop_size instead
    config.data.validation_paths = [str(tree / "shots" / "sub" / "sequence")]
    assert train(config, progress=False).validation_psnr is not None
    shutil.rmtree(tmp_path / "run")
    config.data.validation_paths = [str(tmp_path / "missing")]
    with pytest.raises(Exception, match="validation_paths"):
        train(config, progress=False)


def test_flow_backend_reaches_the_flow_and_is_recorded(tmp_path, monkeypatch):
    import sepgan.flow as flow

    source = write_frame_folder(tmp_path / "clip", moving_frames(5, 64, 80, shift=(1, 1), seed=17))
    backends: list[str] = []
    estimate = flow.estimate_flows

    def recording(frame0, frame1, preset, variants=1, workers=None, backend="opencv"):
        backends.append(backend)
        return estimate(frame0, frame1, preset, variants, workers, "opencv")  # the fast one on 80×64

    monkeypatch.setattr(flow, "estimate_flows", recording)
    prepare_dataset([source], tmp_path / "set", gaps=(1,), crop_size=48, flow_backend="torch")
    assert backends and set(backends) == {"torch"}
    assert json.loads((tmp_path / "set" / "prepared.json").read_text())["flow_backend"] == "torch"


def test_prepare_with_an_unknown_flow_backend_is_one_error_line(tmp_path):
    from typer.testing import CliRunner

    from sepgan.cli import app

    source = write_frame_folder(tmp_path / "clip", moving_frames(5, 64, 80, seed=18))
    result = CliRunner().invoke(
        app, ["prepare", str(source), "-o", str(tmp_path / "set"), "--flow-backend", "x"]
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --flow-backend must be one of auto, opencv, torch, got 'x'"
    ]
    assert not (tmp_path / "set").exists()
