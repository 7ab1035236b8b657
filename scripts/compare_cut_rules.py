"""Scene cuts found in every clip under a folder by interpolate's old rule and by the one rule (issue 24).

Usage: .venv/bin/python scripts/compare_cut_rules.py ../shared/data/videos   (MODEL.md has the table)

Old interpolate rule (before 2026-12-06): thumbnail mean absolute difference above 0.1 of the range
(25.5 grey levels) and not a fade step. The one rule: sepgan.media.scenes (12 levels, 3x the
neighbours' median, not a fade step). Prints a Markdown row per clip with the pairs where the two differ
(pair index: its score, its neighbours' median score, in grey levels).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from sepgan.data.sources import list_sources
from sepgan.media.reader import iter_frames
from sepgan.media.scenes import CUT_NEIGHBOURS, is_fade, scene_cuts, scene_score, thumbnail
from sepgan.tables import Column, markdown_table

OLD_LEVEL = 25.5  # interpolate's --scene-threshold 0.1 of the 0-255 range


def compare(clip: Path) -> tuple[int, int, int, str]:
    """(frames, cuts by the old rule, cuts by the one rule, where they differ) of one clip."""
    thumbnails = [thumbnail(frame) for frame in iter_frames(clip)]
    scores = [scene_score(a, b) for a, b in zip(thumbnails, thumbnails[1:], strict=False)]
    old = {k for k, score in enumerate(scores) if score > OLD_LEVEL and not is_fade(*thumbnails[k : k + 2])}
    new = set(scene_cuts(thumbnails))
    differ = []
    for k in sorted(old ^ new):
        neighbours = scores[max(0, k - CUT_NEIGHBOURS) : k] + scores[k + 1 : k + 1 + CUT_NEIGHBOURS]
        median = float(np.median(neighbours)) if neighbours else float("nan")
        differ.append(f"{'old' if k in old else 'new'} {k}: {scores[k]:.1f}, {median:.1f}")
    return len(thumbnails), len(old), len(new), ", ".join(differ) or "–"


def main(root: Path) -> None:
    rows = []
    for _, clips in list_sources([root]):
        for clip in clips:
            try:
                frames, old, new, differ = compare(clip)
            except (OSError, ValueError) as error:  # VideoError and FrameError are ValueErrors
                rows.append([str(clip.relative_to(root)), 0, 0, 0, str(error)])
                continue
            rows.append([str(clip.relative_to(root)), frames, old, new, differ])
    rows.append(
        ["all", sum(row[1] for row in rows), sum(row[2] for row in rows), sum(row[3] for row in rows), ""]
    )
    columns = [
        Column("clip"),
        Column("frames", align="right"),
        Column("old rule", align="right"),
        Column("one rule", align="right"),
        Column("where they differ (pair: score, neighbours' median)"),
    ]
    print(markdown_table(columns, rows))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
