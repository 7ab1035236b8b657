"""Footage sources for ``sepgan prepare``: which files and folders are clips, and what a source is.

A source is what the per-source triplet cap counts (:func:`list_sources`): a
file or frame folder named on the command line, or each entry directly inside
a folder of footage (a clip, or a subfolder with every clip and frame folder
under it). Clips are found recursively; a file is a clip when FFmpeg reads a
video stream from it (known video suffixes are taken without asking).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sepgan.data.triplets import DatasetError
from sepgan.media.formats import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from sepgan.media.frames import list_frames, natural_sort_key
from sepgan.media.reader import has_video_stream

__all__ = ["list_sources"]


# Files that are never clips, so the tree search need not ask FFmpeg about them.
_NOT_CLIPS = frozenset(
    {".md", ".txt", ".json", ".yaml", ".yml", ".csv", ".py", ".html", ".pdf", ".npy", ".npz"}
)


def _is_clip(path: Path) -> bool:
    """Whether FFmpeg reads a video stream from ``path`` (known video suffixes are taken without asking)."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return True
    if suffix in IMAGE_SUFFIXES or suffix in _NOT_CLIPS or path.name.startswith("."):
        return False
    return has_video_stream(path)


def _clips_under(folder: Path) -> list[Path]:
    """Clips and frame folders under ``folder``, recursively, in natural order.

    A folder is a frame sequence when it holds at least three images and no
    clip (then its subfolders are not searched); a poster image beside clips
    does not hide them.
    """
    children = sorted(folder.iterdir(), key=natural_sort_key)
    clips = [child for child in children if child.is_file() and _is_clip(child)]
    if not clips and len(list_frames(folder)) >= 3:
        return [folder]
    found: list[Path] = []
    for child in children:
        if child.is_dir():
            found.extend(_clips_under(child))
        elif child in clips:
            found.append(child)
    return found


def list_sources(paths: Sequence[Path]) -> list[tuple[str, list[Path]]]:
    """(source name, clips) for the given paths, a source being what the triplet cap counts.

    A file or a frame folder named on the command line is a source. A folder of
    footage is searched recursively, and each entry directly inside it is a
    source: a clip, or a subfolder with every clip and frame folder under it
    (``videos/liveportrait/`` with its seven clips is one source).
    """
    sources: list[tuple[str, list[Path]]] = []
    for path in paths:
        if path.is_file():
            if not _is_clip(path):
                raise DatasetError(f"{path}: FFmpeg finds no video stream in it")
            sources.append((str(path), [path]))
        elif path.is_dir():
            if _clips_under(path) == [path]:  # a frame folder named on the command line
                sources.append((str(path), [path]))
                continue
            for child in sorted(path.iterdir(), key=natural_sort_key):
                clips = _clips_under(child) if child.is_dir() else [child] if _is_clip(child) else []
                if clips:
                    sources.append((str(child), clips))
        else:
            raise DatasetError(f"{path}: no such file or folder")
    return sources
