"""`sepgan interpolate` on many inputs (sepgan.batch): auto names, skips, one model, one bar, failures."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image

import sepgan.batch
import sepgan.cli
import sepgan.loading
from sepgan.batch import output_name
from sepgan.jobs import InterpolateOptions
from synthetic import decode_all, make_clip, moving_frames, run_interpolate_cli, write_frame_folder


def _clip(path: Path, count: int, fps: int = 24) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = "libx264" if path.suffix in (".mp4", ".mov") else "ffv1"  # MP4 states its frame count
    return make_clip(path, moving_frames(count, 32, 48), Fraction(fps), codec=codec)


def _run(*arguments: object):
    """``sepgan interpolate ARGUMENTS --device cpu --quiet --preset fast``: the quickest model here."""
    return run_interpolate_cli(*arguments, "--preset", "fast")


def _lines(result) -> list[str]:
    return result.output.strip().splitlines()


@pytest.mark.parametrize(
    "name,options,folder,expected",
    [
        ("clip.mp4", {}, False, "clip_2x.mp4"),
        ("clip.MOV", {"factor": 3}, False, "clip_3x.MOV"),  # the input's container, as spelt
        ("clip.mkv", {"factor": 4}, False, "clip_4x.mkv"),
        ("clip.avi", {"fps": Fraction(60)}, False, "clip_60fps.mp4"),  # AVI: .mp4 instead
        ("clip.webm", {"fps": Fraction(60000, 1001)}, False, "clip_59.94fps.mp4"),
        ("clip.mp4", {"fps": Fraction(24000, 1001)}, False, "clip_23.976fps.mp4"),
        ("clip.mp4", {"slowmo": 4}, False, "clip_4x_slowmo.mp4"),
        ("clip.mp4", {"codec": "ffv1"}, False, "clip_2x.mkv"),
        ("clip.mp4", {"codec": "png"}, False, "clip_2x"),  # a folder of PNG frames
        ("frames", {"factor": 4}, True, "frames_4x"),
    ],
)
def test_output_names(name, options, folder, expected):
    assert output_name(Path("in") / name, InterpolateOptions(**options), folder=folder) == expected


def test_two_videos_into_a_folder_with_one_model_and_one_bar(tmp_path, monkeypatch):
    loads, bars = [], []
    real_load = sepgan.loading.load_interpolator

    def counting_load(*args, **kwargs):
        loads.append(1)
        return real_load(*args, **kwargs)

    class RecordingBar(sepgan.batch.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.first_total, self.counted = self.total, 0
            bars.append(self)

        def update(self, n=1):
            self.counted += n
            return super().update(n)

    monkeypatch.setattr(sepgan.loading, "load_interpolator", counting_load)
    monkeypatch.setattr(sepgan.batch, "tqdm", RecordingBar)
    first, second = _clip(tmp_path / "a.mp4", 6), _clip(tmp_path / "b.avi", 5, fps=25)
    result = _run(first, second, "-o", tmp_path / "out", "--factor", "4")
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["a_4x.mp4", "b_4x.mp4"]
    assert len(decode_all(tmp_path / "out" / "a_4x.mp4")) == 24
    assert len(decode_all(tmp_path / "out" / "b_4x.mp4")) == 20  # AVI input: an MP4 output
    first_line, second_line, summary = _lines(result)
    assert first_line.startswith(f"wrote {tmp_path / 'out' / 'a_4x.mp4'}: 24 frames from 6, 24 → 96 fps")
    assert second_line.startswith(f"wrote {tmp_path / 'out' / 'b_4x.mp4'}: 20 frames from 5, 25 → 100 fps")
    assert summary.startswith("2 inputs: 2 written, 0 skipped (output exists), 0 failed;")
    assert len(loads) == 1  # one model for the whole batch
    assert len(bars) == 1 and bars[0].first_total == bars[0].counted == 44  # one bar: 24 + 20 frames


def test_a_folder_of_videos_without_output_and_skips_on_the_next_run(tmp_path):
    clips = tmp_path / "clips"
    _clip(clips / "clip10.mkv", 3), _clip(clips / "clip2.mkv", 4)
    (clips / "notes.txt").write_text("not a video")  # neither image nor video: not read
    result = _run(clips)
    assert result.exit_code == 0, result.output
    made = tmp_path / "clips_2x"  # beside the folder, never inside it
    assert sorted(path.name for path in made.iterdir()) == ["clip10_2x.mkv", "clip2_2x.mkv"]
    assert [line.split(":")[0] for line in _lines(result)[:2]] == [  # natural order
        f"wrote {made / 'clip2_2x.mkv'}",
        f"wrote {made / 'clip10_2x.mkv'}",
    ]

    kept = (made / "clip2_2x.mkv").stat().st_mtime_ns
    (made / "clip10_2x.mkv").unlink()
    again = _run(clips)
    assert again.exit_code == 0, again.output
    skipped, wrote, summary = _lines(again)
    assert skipped == f"skipped {clips / 'clip2.mkv'}: {made / 'clip2_2x.mkv'} exists (-y replaces it)"
    assert wrote.startswith(f"wrote {made / 'clip10_2x.mkv'}: 6 frames from 3")
    assert summary.startswith("2 inputs: 1 written, 1 skipped (output exists), 0 failed")
    assert (made / "clip2_2x.mkv").stat().st_mtime_ns == kept


def test_a_broken_input_is_reported_and_the_others_are_made(tmp_path):
    first, last = _clip(tmp_path / "a.mkv", 3), _clip(tmp_path / "c.mkv", 3)
    broken = tmp_path / "b.mp4"
    broken.write_bytes(b"not a video")
    write_frame_folder(tmp_path / "frames", moving_frames(3, 32, 48))
    out = tmp_path / "out"
    result = _run(first, broken, last, tmp_path / "frames", "-o", out)
    assert result.exit_code == 2, result.output
    assert sorted(path.name for path in out.iterdir()) == ["a_2x.mkv", "c_2x.mkv", "frames_2x"]
    assert len(list((out / "frames_2x").iterdir())) == 5
    lines = _lines(result)
    assert lines[1].startswith(f"error: {broken}: cannot read video, corrupt or truncated? (")  # at its turn
    assert lines[-2].startswith("4 inputs: 3 written, 0 skipped (output exists), 1 failed")
    assert lines[-1] == f"error: 1 of 4 inputs failed: {broken}"
    assert "Traceback" not in result.output


def test_one_input_without_output_is_named_beside_it_and_runs_as_a_single_job(tmp_path):
    source = _clip(tmp_path / "in" / "take.mov", 3)
    result = _run(source, "--slowmo", "2")
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in source.parent.iterdir()) == ["take.mov", "take_2x_slowmo.mov"]
    assert len(_lines(result)) == 1 and _lines(result)[0].startswith(
        f"wrote {source.parent / 'take_2x_slowmo.mov'}"
    )

    missing = _run(tmp_path / "gone" / "take.mp4")
    assert missing.exit_code == 2  # one input: its error alone, as a single run gives it
    assert _lines(missing) == [f"error: {tmp_path / 'gone' / 'take.mp4'}: no such file or folder"]


def test_a_failing_model_stops_the_batch_with_one_line(tmp_path, no_bundled_weights):
    first, second = _clip(tmp_path / "a.mkv", 3), _clip(tmp_path / "b.mkv", 3)
    result = run_interpolate_cli(first, second, "-o", tmp_path / "out")  # the default model
    assert result.exit_code == 2
    assert (
        len(_lines(result)) == 1
        and "default weights (not-installed) are not in this install" in result.output
    )
    assert list((tmp_path / "out").iterdir()) == []


def test_ctrl_c_stops_the_batch(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sepgan.loading, "load_interpolator", interrupted)
    result = _run(_clip(tmp_path / "a.mkv", 3), _clip(tmp_path / "b.mkv", 3), "-o", tmp_path / "out")
    assert result.exit_code == 130 and _lines(result) == ["interrupted"]


def test_an_image_pair_is_still_a_pair(tmp_path):
    frames = moving_frames(2, 32, 48)
    for name, frame in zip(("a.png", "b.png"), frames, strict=True):
        Image.fromarray(frame).save(tmp_path / name)
    result = _run(tmp_path / "a.png", tmp_path / "b.png", "-o", tmp_path / "mid.png")
    assert result.exit_code == 0, result.output
    assert _lines(result) == [f"wrote {tmp_path / 'mid.png'}: the middle frame"]
    unnamed = _run(tmp_path / "a.png", tmp_path / "b.png")
    assert unnamed.exit_code == 2
    assert _lines(unnamed) == [
        "error: an image pair gives one middle frame: name it with --output, e.g. --output mid.png"
    ]


def _refused(tmp_path: Path, *arguments: object) -> str:
    result = _run(*arguments)
    assert result.exit_code == 2, result.output
    assert len(_lines(result)) == 1 and "Traceback" not in result.output, result.output
    assert not (tmp_path / "out").exists()
    return _lines(result)[0]


def test_argument_errors_are_one_line_before_anything_runs(tmp_path):
    clip = _clip(tmp_path / "a.mkv", 2)
    image = tmp_path / "a.png"
    Image.fromarray(moving_frames(1, 32, 48)[0]).save(image)
    out = tmp_path / "out"
    assert _refused(tmp_path, image, clip, "-o", out) == (
        f"error: {image} is an image and {clip} is not: give two images (an image pair), "
        "or videos and frame folders (a batch)"
    )
    assert "3 inputs are images" in _refused(tmp_path, image, image, image, "-o", out)
    assert _refused(tmp_path, clip, clip, "-o", tmp_path / "out.mp4") == (
        f"error: --output {tmp_path / 'out.mp4'}: several inputs need a folder to write into, not a .mp4 file"
    )
    assert "would both be written to" in _refused(
        tmp_path, clip, _clip(tmp_path / "b" / "a.mkv", 2), "-o", out
    )
    assert "--montage names one video" in _refused(
        tmp_path, clip, clip, "-o", out, "--montage", tmp_path / "m.mp4"
    )
    (tmp_path / "file").write_text("")
    assert f"--output {tmp_path / 'file'} is a file" in _refused(
        tmp_path, clip, clip, "-o", tmp_path / "file"
    )
    assert "--adapt learns from one video" in _refused(tmp_path, clip, clip, "-o", out, "--adapt")
    both = tmp_path / "both"
    _clip(both / "clip.mkv", 2)
    Image.fromarray(moving_frames(1, 32, 48)[0]).save(both / "cover.png")
    assert "holds both images and videos" in _refused(tmp_path, both, "-o", out)
