"""sepgan.media.frames: what load_image accepts and rejects, rounding, and atomic saves."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sepgan.media.frames import FrameError, from_uint8, load_image, load_image_uint8, save_image, to_uint8


def write_raw_png(path: Path, samples: np.ndarray, colour_type: int) -> None:
    """Write a PNG byte by byte, so the bit depth is exactly what the test asks for.

    Pillow cannot write 16-bit RGB, which is why this exists. ``colour_type``
    follows the PNG spec: 0 gray, 2 RGB, 6 RGBA.
    """
    height, width = samples.shape[:2]
    bit_depth = 16 if samples.dtype == np.uint16 else 8
    raw = samples.astype(">u2" if bit_depth == 16 else "u1").reshape(height, -1)
    scanlines = b"".join(b"\x00" + row.tobytes() for row in raw)  # filter type 0 per row

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(scanlines)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def random_rgb(height: int = 12, width: int = 17, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_png_round_trip_is_exact(tmp_path: Path) -> None:
    pixels = random_rgb()
    Image.fromarray(pixels).save(tmp_path / "in.png")
    frame = load_image(tmp_path / "in.png")
    assert frame.shape == (3, 12, 17) and frame.dtype == torch.float32
    assert frame.min() >= 0.0 and frame.max() <= 1.0
    assert torch.equal(frame[:, 3, 5], torch.from_numpy(pixels[3, 5]).float() / 255)

    save_image(frame, tmp_path / "out.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), pixels)
    save_image(frame[None], tmp_path / "batched.png")
    np.testing.assert_array_equal(load_image_uint8(tmp_path / "batched.png"), pixels)


def test_raw_png_writer_makes_valid_8_bit_rgb(tmp_path: Path) -> None:
    # Guards the fixture itself: an 8-bit PNG from write_raw_png must load exactly.
    pixels = random_rgb(seed=1)
    write_raw_png(tmp_path / "rgb8.png", pixels, colour_type=2)
    np.testing.assert_array_equal(load_image_uint8(tmp_path / "rgb8.png"), pixels)


def test_to_uint8_rounds_to_nearest_and_clamps() -> None:
    values = torch.tensor([-0.2, 0.0, 0.5 / 255, 0.49 / 255, 1.5 / 255, 254.5 / 255, 1.0, 1.7])
    frame = values.view(1, 1, -1).expand(3, 1, -1)
    assert to_uint8(frame)[0, :, 0].tolist() == [0, 0, 1, 0, 2, 255, 255, 255]
    assert to_uint8(frame[None]).shape == (1, 1, 8, 3)


def test_to_uint8_rejects_nan_and_bad_shapes() -> None:
    with pytest.raises(FrameError, match="NaN"):
        to_uint8(torch.full((3, 2, 2), float("nan")))
    with pytest.raises(FrameError, match="3×H×W"):
        to_uint8(torch.zeros(4, 2, 2))


def test_from_uint8_handles_strided_and_read_only_arrays() -> None:
    pixels = random_rgb()
    flipped = pixels[:, ::-1]
    read_only = pixels.copy()
    read_only.flags.writeable = False
    assert torch.equal(from_uint8(flipped), from_uint8(pixels).flip(-1))
    assert torch.equal(from_uint8(read_only), from_uint8(pixels))
    assert from_uint8(np.stack([pixels, pixels])).shape == (2, 3, 12, 17)
    with pytest.raises(FrameError, match="uint8"):
        from_uint8(pixels.astype(np.float32))


def test_palette_without_transparency_becomes_rgb_losslessly(tmp_path: Path) -> None:
    pixels = random_rgb()
    palette_image = Image.fromarray(pixels).quantize(colors=16)
    palette_image.save(tmp_path / "palette.png")
    expected = np.asarray(palette_image.convert("RGB"))
    np.testing.assert_array_equal(load_image_uint8(tmp_path / "palette.png"), expected)


def test_fully_opaque_rgba_is_read_as_its_rgb_and_one_transparent_pixel_is_refused(tmp_path: Path) -> None:
    pixels = random_rgb()
    alpha = np.full(pixels.shape[:2], 255, np.uint8)  # a screenshot: RGBA, opaque everywhere
    Image.fromarray(np.dstack([pixels, alpha])).save(tmp_path / "screenshot.png")
    np.testing.assert_array_equal(load_image_uint8(tmp_path / "screenshot.png"), pixels)
    alpha[3, 5] = 254
    Image.fromarray(np.dstack([pixels, alpha])).save(tmp_path / "one_pixel.png")
    with pytest.raises(FrameError, match="alpha channel"):
        load_image_uint8(tmp_path / "one_pixel.png")


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("gray.png", lambda: Image.fromarray(random_rgb()[..., 0]), "grayscale"),
        ("bilevel.png", lambda: Image.fromarray(random_rgb()[..., 0]).convert("1"), "grayscale"),
        ("gray_alpha.png", lambda: Image.fromarray(random_rgb()[..., :2].copy(), "LA"), "alpha"),
        ("rgba.png", lambda: Image.fromarray(np.dstack([random_rgb(), random_rgb()[..., 0]])), "alpha"),
        ("cmyk.jpg", lambda: Image.fromarray(random_rgb()).convert("CMYK"), "CMYK"),
        ("gray16.png", lambda: Image.fromarray(np.full((8, 8), 4000, np.uint16)), "16-bit grayscale"),
    ],
)
def test_rejected_modes_name_file_and_reason(tmp_path: Path, name: str, make, reason: str) -> None:
    path = tmp_path / name
    make().save(path)
    with pytest.raises(FrameError, match=reason) as caught:
        load_image(path)
    assert str(path) in str(caught.value)


def test_palette_with_transparency_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "palette_transparent.png"
    Image.fromarray(random_rgb()).quantize(colors=8).save(path, transparency=0)
    with pytest.raises(FrameError, match="transparency"):
        load_image(path)


def test_16_bit_rgb_png_is_rejected_not_truncated(tmp_path: Path) -> None:
    path = tmp_path / "rgb16.png"
    samples = np.random.default_rng(2).integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    write_raw_png(path, samples, colour_type=2)
    assert Image.open(path).mode == "RGB"  # Pillow itself would hand back truncated 8-bit data
    with pytest.raises(FrameError, match="16 bits per channel") as caught:
        load_image(path)
    assert str(path) in str(caught.value)


def test_16_bit_rgba_png_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "rgba16.png"
    write_raw_png(path, np.zeros((4, 4, 4), np.uint16), colour_type=6)
    with pytest.raises(FrameError, match=str(path.name)):
        load_image(path)


def test_animated_image_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.fromarray(random_rgb(seed=s)).quantize(colors=8) for s in range(2)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.raises(FrameError, match="2 frames"):
        load_image(path)


def test_jpeg_and_bmp_are_accepted(tmp_path: Path) -> None:
    pixels = random_rgb()
    Image.fromarray(pixels).save(tmp_path / "a.bmp")
    Image.fromarray(pixels).save(tmp_path / "a.jpg", quality=95)
    np.testing.assert_array_equal(load_image_uint8(tmp_path / "a.bmp"), pixels)
    assert load_image(tmp_path / "a.jpg").shape == (3, 12, 17)


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(FrameError, match="no such file") as caught:
        load_image(tmp_path / "absent.png")
    assert "absent.png" in str(caught.value)

    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(np.random.default_rng(3).integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(FrameError, match="cannot read image") as caught:
        load_image(corrupt)
    assert str(corrupt) in str(caught.value)

    truncated = tmp_path / "truncated.png"
    Image.fromarray(random_rgb(64, 64)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(FrameError, match="truncated.png"):
        load_image(truncated)

    with pytest.raises(FrameError, match="not a file"):
        load_image(tmp_path)


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "frame.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(target)
    save_image(torch.ones(3, 4, 4), target)  # replaces the old file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frame.png"]
    assert load_image_uint8(target).min() == 255


def test_failed_save_keeps_old_file_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "frame.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(target)

    def failing_save(self, file, format=None, **options):
        file.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(FrameError, match="disk full"):
        save_image(torch.ones(3, 4, 4), target)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frame.png"]
    assert load_image_uint8(target).max() == 0


def test_save_into_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FrameError, match="does not exist"):
        save_image(torch.zeros(3, 4, 4), tmp_path / "nowhere" / "frame.png")


def test_save_into_unwritable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
    else:  # root ignores permission bits, so simulate the refusal the OS would give
        real_open = os.open

        def refusing_open(path, flags, mode=0o777, **kwargs):
            if Path(path).parent == folder:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, mode, **kwargs)

        monkeypatch.setattr(os, "open", refusing_open)
    try:
        with pytest.raises(FrameError, match="cannot write to folder") as caught:
            save_image(torch.zeros(3, 4, 4), folder / "frame.png")
        assert str(folder) in str(caught.value)
    finally:
        folder.chmod(0o700)


def test_save_rejects_unknown_suffix_and_bad_shape(tmp_path: Path) -> None:
    with pytest.raises(FrameError, match="unknown image format"):
        save_image(torch.zeros(3, 4, 4), tmp_path / "frame.xyz")
    with pytest.raises(FrameError, match="3×H×W"):
        save_image(torch.zeros(2, 3, 4, 4), tmp_path / "frame.png")


def test_16_bit_rgb_tiff_is_rejected(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "rgb16.tif"
    tifffile.imwrite(path, np.full((5, 6, 3), 40000, np.uint16), photometric="rgb")
    with pytest.raises(FrameError, match="16 bits per channel"):
        load_image(path)
    tifffile.imwrite(tmp_path / "rgb8.tif", random_rgb(), photometric="rgb")
    np.testing.assert_array_equal(load_image_uint8(tmp_path / "rgb8.tif"), random_rgb())
