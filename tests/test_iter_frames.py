"""sepgan.media.reader.iter_frames: the one way prepare, --adapt and evaluation read footage."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from sepgan.media.formats import VideoError
from sepgan.media.frames import FrameError
from sepgan.media.reader import iter_frames, resize_area
from sepgan.media.writer import VideoWriter
from synthetic import make_clip, moving_frames, write_frame_folder


def test_a_video_and_its_frame_folder_give_the_same_frames(tmp_path):
    frames = moving_frames(7, 30, 44, seed=3)
    video = make_clip(tmp_path / "clip.mkv", frames)  # FFV1: lossless RGB
    folder = write_frame_folder(tmp_path / "frames", frames)
    for every in (1, 2, 3):
        from_video, from_folder = list(iter_frames(video, every)), list(iter_frames(folder, every))
        assert len(from_video) == len(from_folder) == len(frames[::every])
        for got_video, got_folder, expected in zip(from_video, from_folder, frames[::every], strict=True):
            np.testing.assert_array_equal(got_video, expected)
            np.testing.assert_array_equal(got_folder, expected)


def test_max_side_shrinks_videos_and_folders_with_one_filter(tmp_path):
    frames = moving_frames(3, 60, 88, seed=4)
    video = make_clip(tmp_path / "clip.mkv", frames)
    folder = write_frame_folder(tmp_path / "frames", frames)
    from_video, from_folder = list(iter_frames(video, max_side=44)), list(iter_frames(folder, max_side=44))
    assert from_video[0].shape == (30, 44, 3)
    for got_video, got_folder, frame in zip(from_video, from_folder, frames, strict=True):
        np.testing.assert_array_equal(got_video, got_folder)  # the same swscale area filter for both
        # An area average of 2×2 blocks, within rounding.
        blocks = frame.astype(np.float32).reshape(30, 2, 44, 2, 3).mean(axis=(1, 3))
        assert np.abs(got_folder.astype(np.float32) - blocks).max() <= 1.0
    assert list(iter_frames(folder, max_side=1000))[0].shape == (60, 88, 3)  # never enlarged


def test_max_side_shrinks_yuv_video(tmp_path):
    # H.264 4:2:0 decodes to YUV: the shrink and the colour conversion run in one swscale call,
    # which refused two scaling filters at once (EINVAL) before the area filter stood alone.
    path = tmp_path / "clip.mp4"
    frames = moving_frames(2, 72, 100, seed=5)
    with VideoWriter(path, fps=Fraction(24), width=100, height=72) as writer:
        for frame in frames:
            writer.write(frame)
    shrunk = list(iter_frames(path, max_side=50))
    assert [frame.shape for frame in shrunk] == [(36, 50, 3)] * 2
    full = list(iter_frames(path))
    assert np.abs(resize_area(full[0], (50, 36)).astype(int) - shrunk[0]).mean() < 2


def test_bad_sources_raise_the_media_errors(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        list(iter_frames(tmp_path / "missing.mp4"))
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "0001.png").write_bytes(b"not a png")
    with pytest.raises(FrameError):
        list(iter_frames(folder))
    with pytest.raises(ValueError, match="every"):
        list(iter_frames(folder, every=0))
