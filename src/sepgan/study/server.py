"""``sepgan study serve``: the blind A/B web app (FastAPI), built by :func:`create_app`.

Routes (everything the browser sees):

- ``GET /`` and ``GET /static/{study.js,study.css}``: the page, from package data.
- ``GET /api/session``: sets the ``sepgan_participant`` cookie (random, HttpOnly,
  SameSite=Strict) and returns the questions, the layout, the consent and privacy
  text, the estimated minutes and the narrowest "desktop" window width. A request without a
  valid cookie makes a new participant; each client address may make at most
  ``sessions_per_hour`` of them in any hour (429 beyond), so a script cannot
  mint participants at will.
- ``GET /api/next-trial``: the participant's next unanswered trial: a random
  trial token and two media URLs ``/media/<alias>.mp4``. On the first call the
  server draws the participant's plan: every comparison × clip once, plus the
  attention checks (the original against itself), in random order, each with a
  random left/right (first/second) assignment. Once every trial is answered it
  says ``done`` and gives the completion code (null when the study has none).
- ``POST /api/vote``: ``{"trial", "smoother", "artifacts"?, "refresh_hz", "watch_ms"?}``.
  The trial must have been issued to this participant and be unanswered:
  unknown tokens give 404, a second vote for one trial 409, no cookie 401, a
  malformed body or a non-finite number (JSON ``NaN``, ``Infinity``) 422. A 422
  names the fields at fault but never echoes the input back.
- ``GET /media/{alias}.mp4``: the file behind a per-trial alias (Range requests
  supported). The alias is looked up in the database, never joined to a path.

Every request body is limited to :data:`MAX_BODY_BYTES` (a vote is ~150 bytes):
a larger one gets 413 before it is parsed.

Blinding: method names, method keys, media tokens and source paths never leave the
server. Aliases are fresh per trial, so even the URL does not tell that two trials
show the same file. No media response header tells the methods apart except
``Content-Length``, which the bytes force: the ``ETag`` is made from the alias,
not the file (so the attention check's two sides differ, and a file cannot be
linked across trials by it), and ``Last-Modified`` is one date for the study (a
file's own mtime follows the encoding order, which would tell the original and
the ``--candidate`` order apart). What still can leak is inherent to showing
video: file size and frame rate (a curious participant can read both from the
video element).

Refresh-rate flag: the page measures the display refresh with requestAnimationFrame
and sends it with each vote. A vote is flagged ``low_refresh`` when the measured
rate is below 100 Hz and the faster clip's playback rate exceeds it by more than
5% (measurement jitter), i.e. the display could not show every frame; or when the
page sent no measurement.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from email.utils import formatdate
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Cookie, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sepgan.options import STUDY_DESKTOP_WIDTH, STUDY_HOST, STUDY_PORT, STUDY_SESSIONS_PER_HOUR
from sepgan.study.config import CONFIG_NAME, VOTES_NAME, StudyConfig, load_study_config
from sepgan.study.storage import ReplayedVote, Trial, VoteStore, utc_now

logger = logging.getLogger(__name__)

COOKIE = "sepgan_participant"
LOW_REFRESH_HZ = 100.0
REFRESH_TOLERANCE = 1.05
_TOKEN = r"[A-Za-z0-9_-]{16,64}"
_TOKEN_RE = re.compile(_TOKEN)
_STATIC_TYPES = {"study.js": "text/javascript", "study.css": "text/css"}
MAX_BODY_BYTES = 16 * 1024


class VoteIn(BaseModel):
    """One vote as the page sends it. Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")

    trial: Annotated[str, Field(pattern=f"^{_TOKEN}$")]
    smoother: Literal["left", "right", "same"]
    artifacts: Literal["left", "right", "same"] | None = None
    # allow_inf_nan=False: Python's json reads the literals NaN and Infinity, which must
    # not reach the database.
    refresh_hz: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)] | None = None
    watch_ms: Annotated[int, Field(ge=0, le=86_400_000)] | None = None


def is_low_refresh(refresh_hz: float | None, playback_fps: float) -> bool:
    if refresh_hz is None:
        return True
    return refresh_hz < LOW_REFRESH_HZ and playback_fps > refresh_hz * REFRESH_TOLERANCE


class NewSessionLimit:
    """At most ``limit`` new participants per client address in any ``window_s`` seconds (0: no limit).

    In memory, so a restart forgets it, and no address is stored with the votes.
    Behind a reverse proxy every participant may share one address: raise the
    limit (``sepgan study serve --sessions-per-hour``) or set it to 0.
    """

    def __init__(
        self, limit: int, window_s: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        self.limit, self.window_s, self._clock = limit, window_s, clock
        self._starts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # sync routes run in uvicorn's thread pool

    def admit(self, client: str) -> float | None:
        """Count one new session for ``client``: None if allowed, else seconds until one will be."""
        if self.limit == 0:
            return None
        now = self._clock()
        with self._lock:
            if len(self._starts) > 10_000:  # bound the memory a crowd of addresses can take
                self._starts = {k: v for k, v in self._starts.items() if v and v[-1] > now - self.window_s}
            starts = self._starts.setdefault(client, deque())
            while starts and starts[0] <= now - self.window_s:
                starts.popleft()
            if len(starts) >= self.limit:
                return starts[0] + self.window_s - now
            starts.append(now)
            return None


def _static_text(name: str) -> str:
    return resources.files("sepgan.study").joinpath("static", name).read_text(encoding="utf-8")


def _draw_plan(config: StudyConfig, participant_id: str) -> tuple[list[Trial], dict[str, str]]:
    """A participant's randomised trials and the alias → media-token map for them."""
    rng = secrets.SystemRandom()
    plan: list[tuple[str, str | None, str, str, str]] = []  # (kind, comparison, clip, method, method)
    for comparison_id, comparison in config.comparisons.items():
        for clip_id in config.clips:
            plan.append(("comparison", comparison_id, clip_id, comparison.a, comparison.b))
    full_speed = [clip_id for clip_id, clip in config.clips.items() if clip.speed == 1.0] or list(
        config.clips
    )
    for _ in range(config.attention_checks):
        plan.append(("attention", None, rng.choice(full_speed), "m0", "m0"))
    rng.shuffle(plan)

    trials: list[Trial] = []
    aliases: dict[str, str] = {}
    for position, (kind, comparison_id, clip_id, first, second) in enumerate(plan):
        left, right = (first, second) if rng.random() < 0.5 else (second, first)
        left_alias, right_alias = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        left_media, right_media = config.media_for(left, clip_id), config.media_for(right, clip_id)
        aliases[left_alias], aliases[right_alias] = left_media, right_media
        trials.append(
            Trial(
                token=secrets.token_urlsafe(24),
                participant_id=participant_id,
                position=position,
                kind=kind,
                comparison_id=comparison_id,
                clip_id=clip_id,
                left_method=left,
                right_method=right,
                left_media=left_alias,
                right_media=right_alias,
                playback_fps=max(config.playback_fps(left_media), config.playback_fps(right_media)),
                issued_at=None,
            )
        )
    return trials, aliases


# C901: an app factory; its complexity is the sum of its route closures, each of a few branches.
def create_app(  # noqa: C901
    study_dir: Path | str, *, sessions_per_hour: int = STUDY_SESSIONS_PER_HOUR
) -> FastAPI:
    """The study web app for a folder made by ``sepgan study create``.

    ``sessions_per_hour``: new participants one client address may start per hour (0: no limit).
    """
    study_dir = Path(study_dir).resolve()
    config = load_study_config(study_dir)
    store = VoteStore(study_dir / VOTES_NAME)
    page = _static_text("index.html")
    static = {name: _static_text(name) for name in _STATIC_TYPES}
    session_limit = NewSessionLimit(sessions_per_hour)
    # One date for every media file (see the module docstring): study.json is written once, after them.
    media_last_modified = formatdate((study_dir / CONFIG_NAME).stat().st_mtime, usegmt=True)

    # No /docs or /openapi.json: nothing secret is there, but a study page needs no API browser.
    # max_body_size: an oversized body is refused with 413 as it arrives, before any parsing.
    app = FastAPI(
        title="sepgan study", docs_url=None, redoc_url=None, openapi_url=None, max_body_size=MAX_BODY_BYTES
    )
    app.state.config = config
    app.state.store = store

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default handler returns each error's "input" (for a body that is not an
        # object, the whole body): say where and what, never echo what was sent.
        errors = [
            {
                "type": error["type"],
                "loc": [part[:64] if isinstance(part, str) else part for part in error["loc"]],
                "msg": error["msg"],
            }
            for error in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def _participant(cookie: str | None) -> str:
        if cookie is None or not _TOKEN_RE.fullmatch(cookie) or not store.has_participant(cookie):
            raise HTTPException(401, "no participant session; reload the page")
        return cookie

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/static/{name}")
    def static_file(name: str) -> Response:
        if name not in static:
            raise HTTPException(404, "not found")
        return Response(static[name], media_type=_STATIC_TYPES[name])

    @app.get("/api/session")
    def session(
        request: Request, response: Response, sepgan_participant: Annotated[str | None, Cookie()] = None
    ) -> dict[str, Any]:
        participant = sepgan_participant
        if (
            participant is None
            or not _TOKEN_RE.fullmatch(participant)
            or not store.has_participant(participant)
        ):
            client = request.client.host if request.client else "unknown"
            wait_s = session_limit.admit(client)
            if wait_s is not None:
                raise HTTPException(
                    429,
                    "too many new sessions from this address; try again later",
                    headers={"Retry-After": str(max(1, round(wait_s)))},
                )
            participant = secrets.token_urlsafe(16)
            store.add_participant(participant, request.headers.get("user-agent"))
        response.set_cookie(
            COOKIE, participant, max_age=180 * 86400, httponly=True, samesite="strict", path="/"
        )
        return {
            "title": config.title,
            "layout": config.layout,
            "ask_artifacts": config.ask_artifacts,
            "trials": config.trials,
            "consent": config.consent,
            "minutes": config.minutes,
            "desktop_width": STUDY_DESKTOP_WIDTH,
        }

    @app.get("/api/next-trial")
    def next_trial(sepgan_participant: Annotated[str | None, Cookie()] = None) -> dict[str, Any]:
        participant = _participant(sepgan_participant)
        if not store.has_plan(participant):
            store.add_plan(*_draw_plan(config, participant))
        trial, answered, total = store.next_trial(participant)
        if trial is None:  # the completion code only now, so that it cannot be had without answering
            return {
                "done": True,
                "answered": answered,
                "total": total,
                "completion_code": config.completion_code,
            }
        return {
            "done": False,
            "trial": trial.token,
            "index": answered,
            "total": total,
            "left": f"/media/{trial.left_media}.mp4",
            "right": f"/media/{trial.right_media}.mp4",
        }

    @app.post("/api/vote", status_code=201)
    def vote(
        body: VoteIn, request: Request, sepgan_participant: Annotated[str | None, Cookie()] = None
    ) -> dict[str, Any]:
        participant = _participant(sepgan_participant)
        trial = store.get_trial(body.trial)
        # Another participant's trial is reported exactly like an unknown one: no oracle.
        if trial is None or trial.participant_id != participant:
            raise HTTPException(404, "unknown trial")
        if trial.issued_at is None:
            raise HTTPException(409, "trial not issued yet")
        if config.ask_artifacts and body.artifacts is None:
            raise HTTPException(422, "this study asks which clip has fewer artifacts")
        side = {"left": trial.left_method, "right": trial.right_method, "same": None}
        low_refresh = is_low_refresh(body.refresh_hz, trial.playback_fps)
        try:
            vote_id = store.add_vote(
                {
                    "trial_token": trial.token,
                    "participant_id": participant,
                    "kind": trial.kind,
                    "comparison_id": trial.comparison_id,
                    "clip_id": trial.clip_id,
                    "left_method": trial.left_method,
                    "right_method": trial.right_method,
                    "smoother": body.smoother,
                    "smoother_method": side[body.smoother],
                    "artifacts": body.artifacts,
                    "artifacts_method": side[body.artifacts] if body.artifacts else None,
                    "refresh_hz": body.refresh_hz,
                    "playback_fps": trial.playback_fps,
                    "low_refresh": int(low_refresh),
                    "watch_ms": body.watch_ms,
                    "issued_at": trial.issued_at,
                    "voted_at": utc_now(),
                    "user_agent": (request.headers.get("user-agent") or "")[:512],
                }
            )
        except ReplayedVote:
            raise HTTPException(409, "this trial already has a vote") from None
        # The id is a row number: it says nothing about which method won.
        return {"ok": True, "vote": vote_id}

    @app.get("/media/{name}")
    def media(name: str) -> FileResponse:
        alias, dot, extension = name.rpartition(".")
        if dot != "." or extension != "mp4" or not _TOKEN_RE.fullmatch(alias):
            raise HTTPException(404, "not found")
        media_token = store.media_for_alias(alias)
        if media_token is None or media_token not in config.media:
            raise HTTPException(404, "not found")
        # The path comes from study.json, never from the request.
        path = study_dir / config.media[media_token].path
        # Our ETag and Last-Modified replace Starlette's, which come from the file's size and mtime.
        # Both stay, so If-Range (a browser resuming a video) works.
        headers = {
            "Cache-Control": "private, max-age=3600",
            "ETag": f'"{alias}"',
            "Last-Modified": media_last_modified,
        }
        return FileResponse(path, media_type="video/mp4", headers=headers)

    return app


def serve(
    study_dir: Path | str,
    host: str = STUDY_HOST,
    port: int = STUDY_PORT,
    sessions_per_hour: int = STUDY_SESSIONS_PER_HOUR,
    announce: Callable[[str], object] | None = None,
) -> None:
    """Run the app with uvicorn until interrupted; ``announce`` gets the page's URL once the folder is
    checked (a folder that is no study raises :class:`StudyError` before anything is printed)."""
    import uvicorn

    app = create_app(study_dir, sessions_per_hour=sessions_per_hour)
    if announce is not None:
        announce(f"http://{host}:{port}/")
    if host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("serving on %s: the study is reachable from other machines", host)
    uvicorn.run(app, host=host, port=port, log_level="info")
