"""sepgan.data: layouts, video cache, paired augmentation and error messages.

Fixture frames encode their index: frame i has red = 20·i except for a red
square at x = 4·i; green and blue encode x and y. So a test can tell which frame came back and that
the target really is the middle one.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import ConcatDataset, DataLoader

from sepgan.data import (
    ATD12K,
    DatasetError,
    FrameFolders,
    PairedAugment,
    VideoTriplets,
    Vimeo90KSeptuplet,
    Vimeo90KTriplet,
    build_triplet_dataset,
    video_triplets,
)
from sepgan.datasets import detect_layout

HEIGHT, WIDTH = 32, 48
SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval" / "vimeo90k-septuplet-sample"


def frame_pixels(index: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = 20 * index
    pixels[..., 1] = np.arange(width, dtype=np.uint8)[None, :]  # makes flips visible
    pixels[..., 2] = np.arange(height, dtype=np.uint8)[:, None] * 2
    pixels[8:16, 4 * index : 4 * index + 8, 0] = 255  # the moving square, red only
    return pixels


def index_of(frame: torch.Tensor) -> int:
    """Recover the fixture index from a (possibly cropped or flipped) frame tensor."""
    red = round(frame[0].flatten().min().item() * 255)
    assert red % 20 == 0
    return red // 20


def write_sequence(folder: Path, count: int, name: str = "{}.png", start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / name.format(index + start)
        Image.fromarray(frame_pixels(index)).save(path)
        paths.append(path)
    return paths


def make_vimeo(root: Path, kind: str, names: list[str], lists: dict[str, list[str]]) -> Path:
    frame_count = 3 if kind == "tri" else 7
    for name in names:
        write_sequence(root / "sequences" / name, frame_count, "im{}.png", start=1)
    for split, entries in lists.items():
        (root / f"{kind}_{split}list.txt").write_text("\n".join(entries) + "\n\n")
    return root


def indices(dataset) -> list[tuple[int, int, int]]:
    return [tuple(index_of(frame) for frame in dataset[i]) for i in range(len(dataset))]


# --- layouts -----------------------------------------------------------------------------------


def test_vimeo_triplet_splits_and_order(tmp_path: Path) -> None:
    root = make_vimeo(
        tmp_path,
        "tri",
        ["00001/0001", "00001/0002", "00002/0001"],
        {"train": ["00001/0001", "00002/0001"], "test": ["00001/0002"]},
    )
    train = Vimeo90KTriplet(root, split="train")
    test = Vimeo90KTriplet(root, split="test")
    assert len(train) == 2 and len(test) == 1
    assert test.triplets[0][0].parent.name == "0002"
    frame0, frame1, target = train[0]
    assert frame0.shape == (3, HEIGHT, WIDTH) and frame0.dtype == torch.float32
    assert (index_of(frame0), index_of(frame1), index_of(target)) == (0, 2, 1)  # im1, im3 → im2
    assert detect_layout(root) == "vimeo-triplet"
    with pytest.raises(ValueError, match="split"):
        Vimeo90KTriplet(root, split="val")


def test_vimeo_septuplet_gaps_and_order(tmp_path: Path) -> None:
    root = make_vimeo(
        tmp_path, "sep", ["00001/0001", "00003/0007"], {"train": ["00001/0001"], "test": ["00003/0007"]}
    )
    dataset = Vimeo90KSeptuplet(root, split="train", gaps=(1, 2))
    assert len(dataset) == 5 + 3
    assert indices(dataset) == [(k, k + 2, k + 1) for k in range(5)] + [(k, k + 4, k + 2) for k in range(3)]
    assert len(Vimeo90KSeptuplet(root, split="test", gaps=3)) == 1
    with pytest.raises(ValueError, match="gaps"):
        Vimeo90KSeptuplet(root, gaps=(4,))


def test_vimeo_septuplet_without_lists_uses_every_sequence(tmp_path: Path) -> None:
    root = make_vimeo(tmp_path, "sep", ["00001/0001", "00002/0005"], {})
    assert len(Vimeo90KSeptuplet(root, split="test", gaps=(1,))) == 10
    assert detect_layout(root) == "vimeo-septuplet"
    (root / "sep_trainlist.txt").write_text("00001/0001\n")
    with pytest.raises(DatasetError, match="sep_testlist.txt is missing"):
        Vimeo90KSeptuplet(root, split="test")


def test_atd12k_layout(tmp_path: Path) -> None:
    for clip, suffix in [("Disney_a", "png"), ("Japan_b", "jpg")]:
        (tmp_path / clip).mkdir()
        for number in (1, 2, 3):
            path = tmp_path / clip / f"frame{number}.{suffix}"
            Image.fromarray(frame_pixels(number - 1)).save(path, quality=100)
    (tmp_path / "notes").mkdir()  # a subfolder that is not a clip is skipped
    dataset = ATD12K(tmp_path)
    assert len(dataset) == 2
    frame0, frame1, target = dataset[0]
    assert (index_of(frame0), index_of(frame1), index_of(target)) == (0, 2, 1)
    assert detect_layout(tmp_path) == "atd12k"

    (tmp_path / "Japan_b" / "frame2.jpg").unlink()
    with pytest.raises(DatasetError, match=r"Japan_b.*frame2\.\* is missing"):
        ATD12K(tmp_path)


def test_frame_folders_natural_order_gaps_and_single_folder(tmp_path: Path) -> None:
    # frame_2 must come before frame_10: natural sort, not string sort.
    write_sequence(tmp_path / "clip_a", 12, "frame_{}.png")
    write_sequence(tmp_path / "clip_b", 3, "{:03d}.png")
    dataset = FrameFolders(tmp_path, gaps=(1, 2))
    # clip_a: 10 at gap 1 + 8 at gap 2; clip_b: 1 at gap 1, none at gap 2.
    assert len(dataset) == 10 + 8 + 1
    assert indices(dataset)[:10] == [(k, k + 2, k + 1) for k in range(10)]
    assert indices(dataset)[10:18] == [(k, k + 4, k + 2) for k in range(8)]
    assert detect_layout(tmp_path) == "frame-folders"

    single = FrameFolders(tmp_path / "clip_a")
    assert len(single) == 10
    assert indices(single)[9] == (9, 11, 10)


def test_triplet_sizes_must_match(tmp_path: Path) -> None:
    paths = write_sequence(tmp_path, 3)
    Image.fromarray(frame_pixels(1, height=HEIGHT + 2)).save(paths[1])
    with pytest.raises(DatasetError, match="differ in size") as caught:
        FrameFolders(tmp_path)[0]
    assert all(str(path) in str(caught.value) for path in paths)


# --- error messages ----------------------------------------------------------------------------


def test_empty_folder_error_names_the_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no triplets found") as caught:
        build_triplet_dataset(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(caught.value)

    write_sequence(tmp_path / "short", 2)
    with pytest.raises(DatasetError, match="2 frames"):
        FrameFolders(tmp_path / "short")
    with pytest.raises(DatasetError, match="no such file or folder"):
        build_triplet_dataset(tmp_path / "absent")


def test_unreadable_image_error_names_the_file(tmp_path: Path) -> None:
    paths = write_sequence(tmp_path, 3)
    paths[2].write_bytes(b"not a png at all")
    dataset = FrameFolders(tmp_path)  # lazy: construction does not read images
    with pytest.raises(DatasetError, match="cannot read image") as caught:
        dataset[0]
    assert str(paths[2]) in str(caught.value)

    Image.fromarray(frame_pixels(2)).convert("L").save(paths[2])
    with pytest.raises(DatasetError, match="grayscale"):
        dataset[0]


# --- augmentation ------------------------------------------------------------------------------


def test_crop_window_is_shared_and_deterministic() -> None:
    frames = [frame_pixels(i) for i in (0, 2, 1)]
    augment = PairedAugment(
        crop_size=(16, 24), flip_horizontal=False, flip_vertical=False, temporal_reverse=False, seed=7
    )
    outputs = [augment(*frames) for _ in range(5)]
    for frame0, frame1, target in outputs:
        assert frame0.shape == (16, 24, 3)
        # Green encodes x and blue encodes y, identical in all three frames: same window.
        np.testing.assert_array_equal(frame0[..., 1:], frame1[..., 1:])
        np.testing.assert_array_equal(frame0[..., 1:], target[..., 1:])
        assert (frame0[..., 0].min(), frame1[..., 0].min(), target[..., 0].min()) == (0, 40, 20)
    assert len({(int(f0[0, 0, 1]), int(f0[0, 0, 2])) for f0, _, _ in outputs}) > 1  # windows vary

    replay = PairedAugment(
        crop_size=(16, 24), flip_horizontal=False, flip_vertical=False, temporal_reverse=False, seed=7
    )
    for (expected, _, _), (again, _, _) in zip(outputs, (replay(*frames) for _ in range(5)), strict=True):
        np.testing.assert_array_equal(expected, again)


def test_flips_and_reversal_are_consistent_across_the_triplet() -> None:
    frames = [frame_pixels(i) for i in (0, 2, 1)]
    augment = PairedAugment(crop_size=None, seed=3)
    seen_reversed = seen_flipped_h = seen_flipped_v = False
    for _ in range(40):
        frame0, frame1, target = augment(*frames)
        green, blue = frame0[..., 1], frame0[..., 2]
        flipped_h, flipped_v = green[0, 0] > green[0, -1], blue[0, 0] > blue[-1, 0]
        for frame in (frame1, target):
            np.testing.assert_array_equal(frame[..., 1:], frame0[..., 1:])
        expected = [frames[i][:, ::-1] if flipped_h else frames[i] for i in range(3)]
        expected = [f[::-1] if flipped_v else f for f in expected]
        reversed_ = frame0[..., 0].min() == 40
        if reversed_:
            expected[0], expected[1] = expected[1], expected[0]
        for got, want in zip((frame0, frame1, target), expected, strict=True):
            np.testing.assert_array_equal(got, want)  # squares move together, target stays middle
        seen_reversed |= bool(reversed_)
        seen_flipped_h |= bool(flipped_h)
        seen_flipped_v |= bool(flipped_v)
    assert seen_reversed and seen_flipped_h and seen_flipped_v


def test_augment_works_on_tensors_and_permutes_channels_together() -> None:
    # Channel c of frame j is the constant (3j + c) / 16, plus a ramp along x shared by all.
    ramp = torch.linspace(0, 0.01, 12).expand(10, 12)
    frames = [torch.stack([(3 * j + c) / 16 + ramp for c in range(3)]) for j in range(3)]
    augment = PairedAugment(
        crop_size=(6, 8), flip_vertical=False, temporal_reverse=False, channel_permute=True, seed=0
    )
    orders = set()
    for _ in range(20):
        out = augment(*frames)
        assert all(frame.shape == (3, 6, 8) for frame in out)
        order = [round(out[0][i, 0, 0].item() * 16) for i in range(3)]  # frame0: 3·0 + c
        for j, frame in enumerate(out):
            assert [round(frame[i, 0, 0].item() * 16) - 3 * j for i in range(3)] == order
            # same window and flip: the ramp is identical up to each channel's constant
            torch.testing.assert_close(frame - frame[:, :1, :1], out[0] - out[0][:, :1, :1])
        orders.add(tuple(order))
    assert sorted(orders)[0] == (0, 1, 2) and len(orders) > 1


def test_crop_larger_than_frame_is_a_clear_error(tmp_path: Path) -> None:
    write_sequence(tmp_path, 3)
    dataset = FrameFolders(tmp_path, augment=PairedAugment(crop_size=64))
    with pytest.raises(DatasetError, match=r"crop 64×64 is larger than the frame 32×48") as caught:
        dataset[0]
    assert "0.png" in str(caught.value)


# An explicit seed in the main process is one fixed stream that continues across epochs, so a
# second loader would not repeat the first; with workers both settings follow torch.manual_seed.
@pytest.mark.parametrize(("seed", "num_workers"), [(None, 0), (None, 2), (5, 2)])
def test_dataloader_workers_batch_and_reproduce(tmp_path: Path, seed: int | None, num_workers: int) -> None:
    write_sequence(tmp_path, 7)
    dataset = FrameFolders(tmp_path, augment=PairedAugment(crop_size=(16, 16), seed=seed))
    dataset[0]  # the parent's generator state must not leak into workers

    def batches(num_workers: int) -> list[list[torch.Tensor]]:
        torch.manual_seed(123)  # seeds shuffling and, through torch.initial_seed(), the crops
        loader = DataLoader(dataset, batch_size=2, num_workers=num_workers, shuffle=True)
        return list(loader)

    first, again = batches(num_workers), batches(num_workers)
    frame0, frame1, target = first[0]
    assert frame0.shape == frame1.shape == target.shape == (2, 3, 16, 16)
    for batch, batch_again in zip(first, again, strict=True):
        for original, repeated in zip(batch, batch_again, strict=True):
            assert torch.equal(original, repeated)


# --- video -------------------------------------------------------------------------------------


def write_video(path: Path, count: int = 10, width: int = 64, height: int = 48) -> None:
    """Lossless FFV1 in RGB (bgr0), so decoded values equal the encoded ones exactly."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "bgr0"
        for index in range(count):
            frame = av.VideoFrame.from_ndarray(frame_pixels(index, height, width), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def test_video_triplets_gaps_values_and_cache_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = tmp_path / "clip.mkv"
    write_video(video)
    cache = tmp_path / "cache"
    dataset = VideoTriplets(video, gaps=(1, 2), cache_dir=cache)
    assert len(dataset) == 8 + 6
    assert indices(dataset) == [(k, k + 2, k + 1) for k in range(8)] + [(k, k + 4, k + 2) for k in range(6)]
    frame0, _, _ = dataset[0]
    assert torch.equal(frame0, torch.from_numpy(frame_pixels(0, 48, 64)).permute(2, 0, 1).float() / 255)
    assert len(list(cache.iterdir())) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("the cache should have been reused")

    monkeypatch.setattr(video_triplets, "_decode_frames", no_decoding)
    again = build_triplet_dataset(video, gaps=(1, 2), cache_dir=cache)
    assert isinstance(again, VideoTriplets) and len(again) == 14
    assert torch.equal(again[3][2], dataset[3][2])


def test_video_max_side_downscales_and_keys_the_cache(tmp_path: Path) -> None:
    video = tmp_path / "clip.mkv"
    write_video(video, count=5)
    small = VideoTriplets(video, cache_dir=tmp_path, max_side=32)
    assert small[0][0].shape == (3, 24, 32)
    assert VideoTriplets(video, cache_dir=tmp_path)[0][0].shape == (3, 48, 64)
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_video_dataset_survives_pickling_for_workers(tmp_path: Path) -> None:
    video = tmp_path / "clip.mkv"
    write_video(video, count=5)
    dataset = VideoTriplets(video, cache_dir=tmp_path / "cache")
    dataset[0]  # opens the memory map
    import pickle

    clone = pickle.loads(pickle.dumps(dataset))
    assert len(pickle.dumps(dataset)) < 10_000  # frames are not copied into the pickle
    assert torch.equal(clone[1][2], dataset[1][2])


def test_corrupt_videos_raise_dataset_error(tmp_path: Path) -> None:
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(DatasetError) as caught:
        VideoTriplets(noise, cache_dir=tmp_path / "cache")
    assert str(noise) in str(caught.value)

    truncated = tmp_path / "truncated.mkv"
    write_video(truncated)
    truncated.write_bytes(truncated.read_bytes()[:300])
    with pytest.raises(DatasetError) as caught:
        VideoTriplets(truncated, cache_dir=tmp_path / "cache")
    assert str(truncated) in str(caught.value)
    assert not list((tmp_path / "cache").glob(".*"))  # failed decodes leave nothing behind

    with pytest.raises(DatasetError, match="no triplets"):
        short = tmp_path / "short.mkv"
        write_video(short, count=2)
        VideoTriplets(short, cache_dir=tmp_path / "cache")


def test_several_sources_concatenate(tmp_path: Path) -> None:
    write_sequence(tmp_path / "frames" / "clip", 4)
    write_video(tmp_path / "clip.mkv", count=4)
    sources = [tmp_path / "frames", tmp_path / "clip.mkv"]
    dataset = build_triplet_dataset(sources, cache_dir=tmp_path / "cache")
    assert isinstance(dataset, ConcatDataset) and len(dataset) == 2 + 2
    assert [index_of(dataset[i][2]) for i in range(4)] == [1, 2, 1, 2]


# --- real data ---------------------------------------------------------------------------------


def test_real_vimeo_septuplet_sample_is_detected() -> None:
    if not SAMPLE.is_dir():
        pytest.skip(f"real sample not present at {SAMPLE}")
    assert detect_layout(SAMPLE) == "vimeo-septuplet"
    gap1 = build_triplet_dataset(SAMPLE, gaps=(1,))
    both = build_triplet_dataset(SAMPLE)
    assert len(gap1) == 5 and len(both) == 5 + 3
    frame0, frame1, target = both[7]
    assert frame0.shape == frame1.shape == target.shape == (3, 64, 112)
    folder = SAMPLE / "sequences" / "00001" / "0266"
    assert both.triplets[7] == tuple(folder / f"im{number}.png" for number in (3, 7, 5))
    # Real motion: the middle frame is closer to the average of its neighbours than to either one.
    middle_error = (target - (frame0 + frame1) / 2).abs().mean()
    assert middle_error < (target - frame0).abs().mean() or middle_error < (target - frame1).abs().mean()
