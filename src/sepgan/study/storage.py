"""SQLite storage for participants, issued trials, media aliases and votes.

One file, ``votes.sqlite3``, in the study folder. Durability: WAL journal with
``synchronous=FULL``, so a vote the server acknowledged survives a crash or a
power cut. Each call opens its own short-lived connection, which makes the store
safe to use from uvicorn's thread pool without sharing a connection.

Tables:

- ``participants``: one row per participant-id cookie.
- ``trials``: every trial issued to a participant, with its random token, its
  position in that participant's randomised order, and which method is on the
  left (or shown first) and which on the right. Written when the participant's
  plan is made, so the server, not the page, knows what a vote refers to.
- ``media_aliases``: per-trial random names for the two media files, so URLs
  never repeat across trials and an attention check (the same file twice) shows
  two different URLs.
- ``votes``: one row per vote, denormalised (methods, clip, fps, flags copied in)
  so that the report reads a single table. ``trial_token`` is UNIQUE: a replayed
  vote fails at the database, not only in Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    user_agent TEXT
);
CREATE TABLE IF NOT EXISTS trials (
    token TEXT PRIMARY KEY,
    participant_id TEXT NOT NULL REFERENCES participants(id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('comparison', 'attention')),
    comparison_id TEXT,
    clip_id TEXT NOT NULL,
    left_method TEXT NOT NULL,
    right_method TEXT NOT NULL,
    left_media TEXT NOT NULL,
    right_media TEXT NOT NULL,
    playback_fps REAL NOT NULL,
    issued_at TEXT
);
CREATE INDEX IF NOT EXISTS trials_by_participant ON trials (participant_id, position);
CREATE TABLE IF NOT EXISTS media_aliases (
    alias TEXT PRIMARY KEY,
    media_token TEXT NOT NULL,
    trial_token TEXT NOT NULL REFERENCES trials(token)
);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trial_token TEXT NOT NULL UNIQUE REFERENCES trials(token),
    participant_id TEXT NOT NULL REFERENCES participants(id),
    kind TEXT NOT NULL,
    comparison_id TEXT,
    clip_id TEXT NOT NULL,
    left_method TEXT NOT NULL,
    right_method TEXT NOT NULL,
    smoother TEXT NOT NULL CHECK (smoother IN ('left', 'right', 'same')),
    smoother_method TEXT,
    artifacts TEXT CHECK (artifacts IN ('left', 'right', 'same')),
    artifacts_method TEXT,
    refresh_hz REAL,
    playback_fps REAL NOT NULL,
    low_refresh INTEGER NOT NULL,
    watch_ms INTEGER,
    issued_at TEXT,
    voted_at TEXT NOT NULL,
    user_agent TEXT
);
"""


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ReplayedVote(Exception):
    """The trial already has a vote."""


@dataclass(frozen=True)
class Trial:
    token: str
    participant_id: str
    position: int
    kind: str
    comparison_id: str | None
    clip_id: str
    left_method: str
    right_method: str
    left_media: str  # alias
    right_media: str  # alias
    playback_fps: float
    issued_at: str | None


class VoteStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # participants -----------------------------------------------------------------

    def add_participant(self, participant_id: str, user_agent: str | None) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO participants (id, created_at, user_agent) VALUES (?, ?, ?)",
                (participant_id, utc_now(), (user_agent or "")[:512]),
            )

    def participant_count(self) -> int:
        """Sessions started: every participant id the server has handed out, voting or not."""
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM participants").fetchone()[0])

    def has_participant(self, participant_id: str) -> bool:
        with self._connect() as conn:
            row = conn.execute("SELECT 1 FROM participants WHERE id = ?", (participant_id,)).fetchone()
        return row is not None

    # trials ------------------------------------------------------------------------

    def add_plan(self, trials: list[Trial], aliases: dict[str, str]) -> None:
        """Store a participant's whole randomised plan and its media aliases in one transaction."""
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO trials (token, participant_id, position, kind, comparison_id, clip_id,"
                " left_method, right_method, left_media, right_media, playback_fps, issued_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        t.token, t.participant_id, t.position, t.kind, t.comparison_id, t.clip_id,
                        t.left_method, t.right_method, t.left_media, t.right_media, t.playback_fps, None,
                    )
                    for t in trials
                ],
            )  # fmt: skip
            by_alias = {t.left_media: t.token for t in trials} | {t.right_media: t.token for t in trials}
            conn.executemany(
                "INSERT INTO media_aliases (alias, media_token, trial_token) VALUES (?, ?, ?)",
                [(alias, media_token, by_alias[alias]) for alias, media_token in aliases.items()],
            )

    def has_plan(self, participant_id: str) -> bool:
        with self._connect() as conn:
            row = conn.execute("SELECT 1 FROM trials WHERE participant_id = ? LIMIT 1", (participant_id,))
            return row.fetchone() is not None

    def next_trial(self, participant_id: str) -> tuple[Trial | None, int, int]:
        """The participant's first unanswered trial (marked issued now), plus (answered, total)."""
        with self._transaction() as conn:
            total = conn.execute(
                "SELECT COUNT(*) FROM trials WHERE participant_id = ?", (participant_id,)
            ).fetchone()[0]
            answered = conn.execute(
                "SELECT COUNT(*) FROM votes WHERE participant_id = ?", (participant_id,)
            ).fetchone()[0]
            row = conn.execute(
                "SELECT * FROM trials WHERE participant_id = ? AND token NOT IN"
                " (SELECT trial_token FROM votes) ORDER BY position LIMIT 1",
                (participant_id,),
            ).fetchone()
            if row is None:
                return None, answered, total
            if row["issued_at"] is None:
                conn.execute("UPDATE trials SET issued_at = ? WHERE token = ?", (utc_now(), row["token"]))
                row = conn.execute("SELECT * FROM trials WHERE token = ?", (row["token"],)).fetchone()
            return Trial(**dict(row)), answered, total

    def get_trial(self, token: str) -> Trial | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM trials WHERE token = ?", (token,)).fetchone()
        return None if row is None else Trial(**dict(row))

    def media_for_alias(self, alias: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute("SELECT media_token FROM media_aliases WHERE alias = ?", (alias,)).fetchone()
        return None if row is None else row["media_token"]

    # votes -------------------------------------------------------------------------

    def add_vote(self, vote: dict[str, Any]) -> int:
        """Insert one vote; raises :class:`ReplayedVote` if the trial already has one."""
        columns = ", ".join(vote)
        placeholders = ", ".join("?" for _ in vote)
        try:
            with self._transaction() as conn:
                cursor = conn.execute(
                    f"INSERT INTO votes ({columns}) VALUES ({placeholders})", tuple(vote.values())
                )
                return int(cursor.lastrowid or 0)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc) and "trial_token" in str(exc):
                raise ReplayedVote(vote.get("trial_token")) from exc
            raise

    def votes(self) -> list[dict[str, Any]]:
        with self._connect() as conn:
            return [dict(row) for row in conn.execute("SELECT * FROM votes ORDER BY id")]
