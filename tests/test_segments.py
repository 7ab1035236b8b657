"""Long jobs in segments (sepgan.segments): the frames of one pass, joined, resumable, in parallel.

Every run here is compared with a one-pass run of the same input and options:
decoded frames (lossless FFV1, or H.264 at CRF 0, where the frames before
encoding come back exactly), their timestamps and the audio packets.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from sepgan.media.scenes import CUT_NEIGHBOURS
from sepgan.segments import CONTEXT_FRAMES, SegmentProgress, plan_segments, work_folder
from synthetic import (
    make_clip,
    make_vfr_clip,
    moving_frames,
    run_interpolate_cli,
    ten_bit_clip,
    write_frame_folder,
)

SRC = Path(__file__).resolve().parents[1] / "src"


def decoded(path: Path) -> tuple[list[float], list[np.ndarray]]:
    with av.open(str(path)) as container:
        frames = [(frame.time, frame.to_ndarray(format="rgb24")) for frame in container.decode(video=0)]
    return [time for time, _ in frames], [picture for _, picture in frames]


def audio_packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as container:
        return [(packet.pts, bytes(packet)) for packet in container.demux(audio=0) if packet.size]


def assert_same_video(one: Path, segmented: Path) -> None:
    times_one, frames_one = decoded(one)
    times_seg, frames_seg = decoded(segmented)
    assert times_seg == times_one
    assert len(frames_seg) == len(frames_one)
    for index, (a, b) in enumerate(zip(frames_one, frames_seg, strict=True)):
        assert np.array_equal(a, b), f"frame {index} differs"


def interpolate(weights: Path | None, source: Path, output: Path, *extra: object):
    result = run_interpolate_cli(source, "-o", output, *extra, weights_folder=weights)
    assert result.exit_code == 0, result.output
    return result.output


def shots_clip(path: Path, *, tone: float | None = None) -> Path:
    """40 frames at 24 fps (39 intervals): a cut between frames 12 and 13, where the first segment
    boundary of 13-frame segments falls; the next (26) is mid-shot."""
    shot_a = moving_frames(13, 48, 64, shift=(0, 1), seed=1)
    shot_b = [255 - frame for frame in moving_frames(27, 48, 64, shift=(0, 1), seed=2)]
    return make_clip(path, shot_a + shot_b, Fraction(24), tone_seconds=tone)


SEGMENT = str(13 / 24)  # --segment-seconds for 13-frame segments at 24 fps


# ---------------------------------------------------------------------------- the plan


def test_segments_cover_every_interval_once_with_context_around():
    segments = plan_segments(100, 20)
    assert [(s.first, s.end) for s in segments] == [(0, 20), (20, 40), (40, 59), (59, 79), (79, None)]
    assert [s.decode_from for s in segments] == [0, 11, 31, 50, 70]
    assert segments[0].last_read == 20 + CONTEXT_FRAMES and CONTEXT_FRAMES >= CUT_NEIGHBOURS
    assert plan_segments(40, 20) == plan_segments(2, 20)[:1]  # under two segments: one pass


def test_boundaries_move_to_nearby_keyframes_and_decodes_seek_before_their_context():
    pts = tuple(range(0, 1000, 10))  # 100 frames
    keyframes = (0, 18, 46, 61, 90)
    segments = plan_segments(100, 20, keyframes, pts)
    assert [s.first for s in segments] == [0, 18, 40, 61, 79]  # 40 and 79: no keyframe within 20 // 4
    second = segments[1]
    assert second.decode_from == 18 - CONTEXT_FRAMES - 2
    assert second.seek == pts[0]  # the keyframe at or before frame 7 is frame 0
    assert segments[3].seek == pts[46] and segments[3].expected[0] == pts[segments[3].decode_from]


# ---------------------------------------------------------------------------- the frames of one pass


def test_a_segmented_video_is_frame_identical_to_one_pass_with_its_audio_and_cut(tmp_path, weights):
    source = shots_clip(tmp_path / "in.mkv", tone=40 / 24)
    one = interpolate(weights, source, tmp_path / "one.mkv", "--codec", "ffv1")
    seg = interpolate(weights, source, tmp_path / "seg.mkv", "--codec", "ffv1", "--segment-seconds", SEGMENT)
    assert "1 scene cuts" in one and "1 scene cuts" in seg  # the cut at the boundary, judged alike
    assert one.splitlines()[-1].replace("one.mkv", "seg.mkv") == seg.splitlines()[-1]
    assert_same_video(tmp_path / "one.mkv", tmp_path / "seg.mkv")
    assert audio_packets(tmp_path / "seg.mkv") == audio_packets(tmp_path / "one.mkv")
    assert not work_folder(tmp_path / "seg.mkv").exists()  # removed once the output is complete


def test_h264_parts_join_into_one_stream_of_the_same_frames_before_encoding(tmp_path):
    # CRF 0 is lossless in YUV: the decoded frames are the frames before encoding.
    source = make_clip(tmp_path / "in.mkv", moving_frames(30, 48, 64), Fraction(24))
    flags = ("--factor", "3", "--crf", "0")
    interpolate(None, source, tmp_path / "one.mp4", *flags)
    interpolate(None, source, tmp_path / "seg.mp4", *flags, "--segment-seconds", "0.3")
    assert_same_video(tmp_path / "one.mp4", tmp_path / "seg.mp4")
    with av.open(str(tmp_path / "seg.mp4")) as container:
        assert container.streams.video[0].frames == 3 * 30


def test_ten_bit_parts_join_into_the_one_pass_10_bit_video(tmp_path, weights):
    source = ten_bit_clip(tmp_path / "in.mkv", count=16)  # 0.3 s segments: 7 frames, so three
    interpolate(weights, source, tmp_path / "one.mkv", "--codec", "ffv1")
    interpolate(weights, source, tmp_path / "seg.mkv", "--codec", "ffv1", "--segment-seconds", "0.3")
    frames = {}
    for name in ("one", "seg"):
        with av.open(str(tmp_path / f"{name}.mkv")) as container:
            assert container.streams.video[0].codec_context.pix_fmt == "gbrp10le"
            frames[name] = [frame.to_ndarray(format="rgb48le") for frame in container.decode(video=0)]
    assert len(frames["seg"]) == 32
    assert all(np.array_equal(a, b) for a, b in zip(frames["one"], frames["seg"], strict=True))


def test_variable_frame_rate_segments_follow_the_input_timestamps(tmp_path, weights):
    slots = [*range(15), *range(27, 45)]  # a 0.4 s stall inside the second segment
    source = make_vfr_clip(tmp_path / "in.mkv", moving_frames(45, 48, 64), slots)
    one = interpolate(weights, source, tmp_path / "one.mkv", "--codec", "ffv1")
    seg = interpolate(weights, source, tmp_path / "seg.mkv", "--codec", "ffv1", "--segment-seconds", "0.3")
    note = "note: variable frame rate: 1 gap(s) between input frames (the longest 0.433 s)"
    assert note in one and note in seg
    assert_same_video(tmp_path / "one.mkv", tmp_path / "seg.mkv")


def test_a_frame_folder_in_segments_gives_the_same_png_files(tmp_path, weights):
    folder = write_frame_folder(tmp_path / "frames", moving_frames(30, 48, 64))
    interpolate(weights, folder, tmp_path / "one")
    interpolate(weights, folder, tmp_path / "seg", "--segment-seconds", "0.3")  # 7-8 frames each
    names = sorted(path.name for path in (tmp_path / "one").iterdir())
    assert names == sorted(path.name for path in (tmp_path / "seg").iterdir()) and len(names) == 59
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "seg" / name).read_bytes()


def test_two_worker_processes_make_the_frames_of_one_pass(tmp_path, weights):
    source = shots_clip(tmp_path / "in.mkv")
    interpolate(weights, source, tmp_path / "one.mkv", "--codec", "ffv1")
    output = interpolate(
        weights, source, tmp_path / "two.mkv", "--codec", "ffv1", "--segment-seconds", SEGMENT, "--jobs", "2"
    )
    assert "wrote" in output
    assert_same_video(tmp_path / "one.mkv", tmp_path / "two.mkv")


def test_a_local_ray_cluster_makes_the_frames_of_one_pass(tmp_path, weights):
    pytest.importorskip("ray")
    source = shots_clip(tmp_path / "in.mkv")
    interpolate(weights, source, tmp_path / "one.mkv", "--codec", "ffv1")
    interpolate(
        weights, source, tmp_path / "ray.mkv", "--codec", "ffv1", "--segment-seconds", SEGMENT,
        "--cluster", "local", "--jobs", "2",
    )  # fmt: skip
    assert_same_video(tmp_path / "one.mkv", tmp_path / "ray.mkv")


def test_a_retried_segment_does_not_count_its_frames_twice():
    counted = []
    progress = SegmentProgress(counted.append)
    for report in [(0, 3), (1, 2), (0, 6), (1, 4)]:  # two segments, frames so far
        progress(report)
    assert sum(counted) == 10
    # segment 1's worker dies; its retry reports from the start again, and finishes at 9 frames
    for report in [(1, 1), (1, 4), (1, 7), (0, 10), (1, 9)]:
        progress(report)
    assert sum(counted) == 19  # segment 0's 10 and segment 1's 9, each once


@pytest.mark.slow
def test_a_ray_task_whose_worker_is_killed_is_retried_and_the_frames_are_the_same(tmp_path, weights):
    pytest.importorskip("ray")
    source = make_clip(tmp_path / "in.mkv", moving_frames(72, 48, 64), Fraction(24))
    output = tmp_path / "ray.mkv"
    command = [
        sys.executable, "-m", "sepgan", "interpolate", str(source), "-o", str(output), "--codec", "ffv1",
        "--segment-seconds", "0.25", "--cluster", "local", "--jobs", "2", "--weights", str(weights),
        "--quiet",
    ]  # fmt: skip
    process = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(SRC)}, stderr=subprocess.PIPE)
    journal = work_folder(output) / "journal.json"
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            parts = len(json.loads(journal.read_text())["parts"])
        except (OSError, ValueError):
            continue
        actors = subprocess.run(
            ["pgrep", "-f", "SegmentActor"], capture_output=True, text=True
        ).stdout.split()
        if parts >= 2 and actors:
            killed = int(actors[0])
            os.kill(killed, signal.SIGKILL)  # a worker dies in the middle of its segment
    _, errors = process.communicate(timeout=300)
    if killed is None:
        pytest.skip("the job finished before a worker could be killed")
    assert process.returncode == 0, errors.decode()[-2000:]
    interpolate(weights, source, tmp_path / "one.mkv", "--codec", "ffv1")
    assert_same_video(tmp_path / "one.mkv", output)


# ---------------------------------------------------------------------------- stop and resume


def test_resume_after_sigkill_redoes_only_the_missing_segments(tmp_path, weights):
    source = make_clip(tmp_path / "in.mkv", moving_frames(60, 48, 64), Fraction(24), tone_seconds=2.5)
    output = tmp_path / "out.mkv"
    flags = ["--codec", "ffv1", "--segment-seconds", "0.25", "--weights", str(weights), "--quiet"]
    command = [sys.executable, "-m", "sepgan", "interpolate", str(source), "-o", str(output), *flags]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = work_folder(output) / "journal.json"
    deadline = time.monotonic() + 120
    parts = 0
    while time.monotonic() < deadline and process.poll() is None:
        try:
            parts = len(json.loads(journal.read_text())["parts"])
        except (OSError, ValueError):
            parts = 0
        if parts >= 3:
            break
        time.sleep(0.05)
    if process.poll() is not None:
        pytest.skip("the job finished before it could be killed")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not output.exists()
    stale = run_interpolate_cli(source, "-o", output, *flags[:4], weights_folder=weights)
    assert stale.exit_code == 2 and "add --resume to continue it or --restart" in stale.output
    other = run_interpolate_cli(source, "-o", output, *flags[:2], "--segment-seconds", "0.5", "--resume",
                                weights_folder=weights)  # fmt: skip
    assert other.exit_code == 2
    assert "--resume: the stopped job ran with --segment-seconds 0.25, this run asks for 0.5" in other.output
    resumed = interpolate(weights, source, output, *flags[:4], "--resume")
    done = int(resumed.split("note: --resume: ")[1].split(" of ")[0])
    assert done >= 3
    interpolate(weights, source, tmp_path / "one.mkv", "--codec", "ffv1")
    assert_same_video(tmp_path / "one.mkv", output)
    assert audio_packets(output) == audio_packets(tmp_path / "one.mkv")
    assert not work_folder(output).exists()


@pytest.mark.slow
@pytest.mark.parametrize(("number", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_keep_the_finished_segments_for_resume(tmp_path, weights, number, code):
    source = make_clip(tmp_path / "in.mkv", moving_frames(40, 32, 48), Fraction(24))
    output = tmp_path / "out.mkv"
    flags = ["--codec", "ffv1", "--segment-seconds", "0.25", "--weights", str(weights), "--quiet"]
    command = [sys.executable, "-m", "sepgan", "interpolate", str(source), "-o", str(output), *flags]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = work_folder(output) / "journal.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if len(json.loads(journal.read_text())["parts"]) >= 2:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    if process.poll() is not None:
        pytest.skip("the job finished before it could be stopped")
    process.send_signal(number)  # a scheduler's kill, a closed terminal
    _, errors = process.communicate(timeout=120)
    assert process.returncode == code, errors[-2000:]
    assert errors.startswith("interrupted: ") and "segments are complete in" in errors, errors
    assert "--resume continues the job" in errors and "Traceback" not in errors
    assert not output.exists() and journal.is_file()
    assert not [p for p in tmp_path.iterdir() if ".sepgan-tmp-" in p.name]
    resumed = interpolate(weights, source, output, *flags[:4], "--resume")
    assert int(resumed.split("note: --resume: ")[1].split(" of ")[0]) >= 2
    assert len(decoded(output)[0]) == 80 and not work_folder(output).exists()


def test_restart_throws_a_stopped_job_away(tmp_path, weights):
    source = make_clip(tmp_path / "in.mkv", moving_frames(30, 48, 64), Fraction(24))
    output = tmp_path / "out.mkv"
    folder = work_folder(output)
    folder.mkdir()
    (folder / "journal.json").write_text("{not json")
    broken = run_interpolate_cli(source, "-o", output, "--segment-seconds", "0.3", "--resume",
                                 weights_folder=weights)  # fmt: skip
    assert (
        broken.exit_code == 2 and "cannot read the journal" in broken.output and "--restart" in broken.output
    )
    both = run_interpolate_cli(source, "-o", output, "--resume", "--restart", weights_folder=weights)
    assert both.exit_code == 2 and both.output.count("\n") == 1
    result = interpolate(weights, source, output, "--segment-seconds", "0.3", "--restart")
    assert "--restart: removed the work folder" in result and output.exists() and not folder.exists()


def test_rotation_pixel_aspect_and_tags_survive_the_join(tmp_path, weights):
    from sepgan.media.reader import VideoReader
    from test_video_metadata import write_clip

    source = write_clip(
        tmp_path / "in.mp4", rotation=90, aspect=Fraction(4, 3), audio_tags={"language": "fra"}, count=30
    )
    interpolate(weights, source, tmp_path / "one.mp4")
    interpolate(weights, source, tmp_path / "seg.mp4", "--segment-seconds", "0.3")
    with VideoReader(tmp_path / "one.mp4") as one, VideoReader(tmp_path / "seg.mp4") as seg:
        assert seg.presentation == one.presentation and seg.presentation.rotation == 90
        assert seg.colour == one.colour
        assert seg.info.frame_count == one.info.frame_count == 60
        assert [dict(s.metadata).get("language") for s in seg.passthrough] == ["fra"]


@pytest.mark.parametrize("codec", ["libx264", "ffv1"])
def test_interlaced_segments_are_deinterlaced_as_in_one_pass(tmp_path, weights, monkeypatch, codec):
    import test_video_interlaced as interlaced

    monkeypatch.setattr(interlaced, "COUNT", 40)
    suffix = ".mp4" if codec == "libx264" else ".mkv"
    source = interlaced.write_interlaced(tmp_path / f"in{suffix}", codec, interlaced.TOP_FIRST)
    one = interpolate(weights, source, tmp_path / "one.mkv", "--codec", "ffv1")
    seg = interpolate(weights, source, tmp_path / "seg.mkv", "--codec", "ffv1", "--segment-seconds", "0.3")
    assert "deinterlaced with bwdif" in one and "deinterlaced with bwdif" in seg
    assert_same_video(tmp_path / "one.mkv", tmp_path / "seg.mkv")


def test_slow_motion_in_segments_stretches_the_audio_once(tmp_path, weights):
    from synthetic import stream_seconds

    source = make_clip(tmp_path / "in.mkv", moving_frames(30, 48, 64), Fraction(24), tone_seconds=30 / 24)
    interpolate(weights, source, tmp_path / "one.mkv", "--codec", "ffv1", "--slowmo", "2")
    seg = interpolate(weights, source, tmp_path / "seg.mkv", "--codec", "ffv1", "--slowmo", "2",
                      "--segment-seconds", "0.3")  # fmt: skip
    assert "time-stretched 2× with atempo" in seg
    assert_same_video(tmp_path / "one.mkv", tmp_path / "seg.mkv")
    assert stream_seconds(tmp_path / "seg.mkv", "audio") == pytest.approx(
        stream_seconds(tmp_path / "one.mkv", "audio"), abs=0.03
    )


def test_file_tags_and_chapters_are_written_once_at_the_join(tmp_path, weights):
    from test_video_metadata import file_info, with_chapters, write_clip

    source = with_chapters(write_clip(tmp_path / "plain.mp4", count=30), tmp_path / "in.mp4")
    interpolate(weights, source, tmp_path / "seg.mp4", "--segment-seconds", "0.3")
    assert file_info(tmp_path / "seg.mp4") == (
        {"title": "My Film", "artist": "Someone"},
        [(0.0, 0.5, "Opening"), (0.5, 1.0, "End")],
    )


def test_a_seek_that_lands_elsewhere_falls_back_to_decoding_from_the_start(tmp_path, weights, monkeypatch):
    import dataclasses

    import sepgan.jobs

    source = make_clip(tmp_path / "in.mkv", moving_frames(30, 48, 64), Fraction(24))  # FFV1: all keyframes
    interpolate(weights, source, tmp_path / "one.mkv", "--codec", "ffv1")
    planned = sepgan.jobs.plan_segments

    def misplaced(*args, **kwargs):  # every later segment seeks past the frames it needs
        segments = planned(*args, **kwargs)
        return [segments[0]] + [dataclasses.replace(s, seek=s.expected[-1]) for s in segments[1:]]

    made, part = [], sepgan.jobs._segment_part

    def counted(interpolator, job, segment, progress):
        made.append(segment.seek)
        return part(interpolator, job, segment, progress)

    monkeypatch.setattr(sepgan.jobs, "plan_segments", misplaced)
    monkeypatch.setattr(sepgan.jobs, "_segment_part", counted)
    interpolate(weights, source, tmp_path / "seg.mkv", "--codec", "ffv1", "--segment-seconds", "0.3")
    assert_same_video(tmp_path / "one.mkv", tmp_path / "seg.mkv")
    later = len(made) // 2  # each later segment: the seek that failed, then the decode from the start
    assert len(made) == 2 * later + 1 and made.count(None) == later


def test_resume_refuses_another_flow_backend(tmp_path):
    from sepgan.errors import InterpolationError
    from sepgan.loading import ModelSpec
    from sepgan.segments import JOURNAL_VERSION, _check_same_job

    def job(flow_backend: str) -> dict:
        options = ModelSpec(flow_backend=flow_backend).identity()
        return {"version": JOURNAL_VERSION, "input": {"path": "in.mkv"}, "options": options, "segments": []}

    _check_same_job(job("torch"), job("torch"), tmp_path)
    with pytest.raises(InterpolationError, match="ran with --flow-backend opencv, this run asks for torch"):
        _check_same_job(job("opencv"), job("torch"), tmp_path)
