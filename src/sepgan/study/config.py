"""The study configuration, ``study.json``: clips, comparisons, and the secret mapping.

Vocabulary:

- a *method* is one source video: the original, or one candidate (a method's
  output). Internal keys ``m0, m1, …``; ``m0`` is always the original.
- a *clip* is one stimulus condition: a time segment of the common span played at
  one speed (1, ½ or ¼). Internal keys ``c0, c1, …``.
- a *media* file is one method rendered for one clip, stored as
  ``media/<token>.mp4`` where the token is random (``secrets.token_urlsafe``).
- a *comparison* pairs two methods, A and B. The report gives the rate at which A
  is preferred: A is the candidate when compared with the original.

Method keys, names and source paths live only in this file and in the server's
memory; the page and the URLs only ever see per-trial random aliases.
Frame rates are stored as exact rationals ("120000/1001").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from sepgan.atomic import atomic_write_bytes
from sepgan.errors import UserError
from sepgan.options import STUDY_CONSENT

CONFIG_NAME = "study.json"
VOTES_NAME = "votes.sqlite3"
FORMAT = "sepgan-study/1"


class StudyError(UserError):
    """A user-facing error: bad input, unusable study folder. The CLI prints it on one line."""


@dataclass
class Method:
    name: str
    role: str  # "original" or "candidate"
    source: str  # absolute path of the input video, for the record
    fps: str  # the source's frame rate, exact rational
    width: int
    height: int
    scaled_from: list[int] | None = None  # source size when it had to be scaled to match


@dataclass
class Clip:
    segment: int
    start: float  # seconds from the first frame of every source
    duration: float  # seconds of source time (playback lasts duration / speed)
    speed: float  # 1.0, 0.5 or 0.25: playback speed relative to real time

    @property
    def label(self) -> str:
        speed = "1x" if self.speed == 1 else f"{self.speed:g}x"
        return f"{self.start:g}-{self.start + self.duration:g}s@{speed}"


@dataclass
class Media:
    method: str
    clip: str
    path: str  # relative to the study folder
    fps: str  # source frame rate, exact rational
    playback_fps: str  # frame rate the file plays at (fps × speed), exact rational
    frames: int
    width: int
    height: int


@dataclass
class Comparison:
    a: str  # method key whose preference rate is reported
    b: str


@dataclass
class StudyConfig:
    title: str
    methods: dict[str, Method]
    clips: dict[str, Clip]
    media: dict[str, Media]
    comparisons: dict[str, Comparison]
    ask_artifacts: bool = False
    layout: str = "side-by-side"  # or "sequential"
    attention_checks: int = 1
    created_at: str = ""
    format: str = FORMAT
    notes: list[str] = field(default_factory=list)
    consent: str = STUDY_CONSENT  # shown before the first trial; the participant agrees to start
    minutes: int = 0  # estimated time to take part, shown on the first page (0: not shown)
    completion_code: str | None = None  # shown at the end, for crowd-sourcing platforms

    @property
    def trials(self) -> int:
        """Trials per participant: every comparison × clip, plus the attention checks."""
        return len(self.comparisons) * len(self.clips) + self.attention_checks

    def media_for(self, method: str, clip: str) -> str:
        """The media token of one method rendered for one clip."""
        for token, media in self.media.items():
            if media.method == method and media.clip == clip:
                return token
        raise KeyError((method, clip))

    def playback_fps(self, token: str) -> float:
        return float(Fraction(self.media[token].playback_fps))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyConfig:
        if data.get("format") != FORMAT:
            raise StudyError(f"unsupported study format {data.get('format')!r}, expected {FORMAT!r}")
        return cls(
            title=data["title"],
            methods={k: Method(**v) for k, v in data["methods"].items()},
            clips={k: Clip(**v) for k, v in data["clips"].items()},
            media={k: Media(**v) for k, v in data["media"].items()},
            comparisons={k: Comparison(**v) for k, v in data["comparisons"].items()},
            ask_artifacts=data.get("ask_artifacts", False),
            layout=data.get("layout", "side-by-side"),
            attention_checks=data.get("attention_checks", 1),
            created_at=data.get("created_at", ""),
            format=data["format"],
            notes=list(data.get("notes", [])),
            consent=data.get("consent", STUDY_CONSENT),
            minutes=data.get("minutes", 0),
            completion_code=data.get("completion_code"),
        )


def save_config(config: StudyConfig, study_dir: Path) -> Path:
    path = Path(study_dir) / CONFIG_NAME
    atomic_write_bytes(path, (json.dumps(config.to_dict(), indent=2) + "\n").encode())
    return path


def load_study_config(study_dir: Path | str) -> StudyConfig:
    path = Path(study_dir) / CONFIG_NAME
    if not path.is_file():
        raise StudyError(f"{study_dir}: not a study folder (no {CONFIG_NAME}); run `sepgan study create`")
    try:
        data = json.loads(path.read_text())
        config = StudyConfig.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise StudyError(f"{path}: unreadable study config ({exc})") from exc
    for token, media in config.media.items():
        if not (Path(study_dir) / media.path).is_file():
            raise StudyError(f"{path}: media file {media.path} for {token[:6]}… is missing")
    return config
