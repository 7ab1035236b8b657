"""The study's create step, its web API (FastAPI TestClient), its report and its CLI errors.

Clips are generated here: a white square moving across 64×48 frames, 1 s long.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
typer = pytest.importorskip("typer")

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sepgan.atomic import OutputExistsError
from sepgan.errors import UserError
from sepgan.study.cli import study_app
from sepgan.study.clips import create_study, probe
from sepgan.study.config import StudyError, load_study_config
from sepgan.study.report import _chart_figure, build_report, format_text, write_report
from sepgan.study.server import MAX_BODY_BYTES, NewSessionLimit, create_app, is_low_refresh

CANDIDATE_NAME = "zq_sepgan_wgan_secret"  # distinctive, so a leak is easy to find


def make_clip(
    path: Path, fps: Fraction | int, seconds: float = 1.0, size: tuple[int, int] = (64, 48)
) -> Path:
    """A white square moving left to right over black: H.264 MP4 at exactly ``fps``."""
    width, height = size
    fps = Fraction(fps)
    count = round(seconds * fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width - width % 2, height - height % 2, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(count):
            image = np.zeros((stream.height, stream.width, 3), np.uint8)
            x = (stream.width - 12) * index // max(1, count - 1)
            image[stream.height // 2 - 6 : stream.height // 2 + 6, x : x + 12] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, 1 / fps
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "original": make_clip(folder / "original.mp4", 30),
        "candidate": make_clip(folder / "candidate.mp4", 60),
    }


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory, clips: dict[str, Path]) -> Path:
    out = tmp_path_factory.mktemp("studies") / "study"
    create_study(
        clips["original"],
        [clips["candidate"]],
        out,
        names=[CANDIDATE_NAME],
        slow_motion=True,
        encoder_preset="ultrafast",
    )
    return out


@pytest.fixture()
def client(study_dir: Path) -> TestClient:
    return TestClient(create_app(study_dir))


def _start(client: TestClient) -> dict:
    assert client.get("/api/session").status_code == 200
    trial = client.get("/api/next-trial").json()
    assert trial["done"] is False
    return trial


def _rows(study_dir: Path, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
    with sqlite3.connect(study_dir / "votes.sqlite3") as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, args).fetchall()


# create ---------------------------------------------------------------------------------


def test_create_keeps_true_frame_rates_and_retimes_slow_motion(study_dir: Path) -> None:
    config = load_study_config(study_dir)
    assert [clip.speed for clip in config.clips.values()] == [1.0, 0.5, 0.25]
    assert {c.a: c.b for c in config.comparisons.values()} == {"m1": "m0"}
    for token, media in config.media.items():
        info = probe(study_dir / media.path)
        speed = config.clips[media.clip].speed
        assert Fraction(media.playback_fps) == Fraction(media.fps) * Fraction(speed)
        assert info.fps == Fraction(media.playback_fps)
        assert info.frames == media.frames == round(Fraction(media.fps))  # 1 s of source time
        assert (info.width, info.height) == (64, 48)
        assert media.path == f"media/{token}.mp4"
        # +faststart: the index (moov) precedes the data (mdat) so playback starts at once.
        boxes = _top_level_boxes(study_dir / media.path)
        assert boxes.index("moov") < boxes.index("mdat")
        with av.open(str(study_dir / media.path)) as container:
            context = container.streams.video[0].codec_context
            assert (context.name, context.pix_fmt) == ("h264", "yuv420p")
            # Through sepgan's one writer: the matrix players assume at 64×48 (BT.601), tagged, tv range.
            assert (context.colorspace, context.color_range) == (6, 1)
            frames = list(container.decode(video=0))
        # At most one second of playback between keyframes, so seeking stays cheap.
        keyframes = [index for index, frame in enumerate(frames) if frame.key_frame] + [len(frames)]
        gop = max(1, round(Fraction(media.playback_fps)))
        assert keyframes[0] == 0 and all(b - a <= gop for a, b in itertools.pairwise(keyframes))


def _top_level_boxes(path: Path) -> list[str]:
    data, offset, boxes = path.read_bytes(), 0, []
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        boxes.append(kind.decode("latin-1"))
        offset += size if size else len(data)
    return boxes


def test_create_trims_to_the_common_span_and_crops_odd_sizes(tmp_path: Path) -> None:
    original = make_clip(tmp_path / "odd.mp4", Fraction(30000, 1001), seconds=1.0, size=(66, 50))
    longer = make_clip(tmp_path / "long.mp4", 60, seconds=1.5, size=(66, 50))
    config = create_study(
        original, [longer], tmp_path / "s", start=0.25, duration=0.5, encoder_preset="ultrafast"
    )
    frames = {config.methods[m.method].name: m.frames for m in config.media.values()}
    # Whole frames of 0.5 s: 14 at 29.97 fps (the 14th held to 0.5 s) and 30 at 60 fps.
    assert frames == {"original": 14, "long": 30}
    assert next(iter(config.media.values())).fps == "30000/1001"


def test_create_refuses_bad_inputs(tmp_path: Path, clips: dict[str, Path]) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(StudyError, match="cannot decode|no video"):
        create_study(corrupt, [clips["candidate"]], tmp_path / "a")
    with pytest.raises(StudyError, match="no such file"):
        create_study(tmp_path / "missing.mp4", [clips["candidate"]], tmp_path / "b")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="already exists; use overwrite"):
        create_study(clips["original"], [clips["candidate"]], busy)
    assert (busy / "keep.txt").read_text() == "mine"
    with pytest.raises(StudyError, match="contains the input"):
        create_study(clips["original"], [clips["candidate"]], clips["original"].parent, overwrite=True)


# votes ----------------------------------------------------------------------------------


def test_vote_is_stored_with_the_method_behind_the_chosen_side(client: TestClient, study_dir: Path) -> None:
    trial = _start(client)
    response = client.post(
        "/api/vote", json={"trial": trial["trial"], "smoother": "right", "refresh_hz": 144.0}
    )
    assert response.status_code == 201
    [row] = _rows(study_dir, "SELECT * FROM votes WHERE trial_token = ?", (trial["trial"],))
    assert row["smoother"] == "right"
    assert row["smoother_method"] == row["right_method"]
    assert row["participant_id"] == client.cookies.get("sepgan_participant")
    assert row["refresh_hz"] == 144.0 and row["low_refresh"] == 0
    assert row["issued_at"] and row["voted_at"] >= row["issued_at"]
    following = client.get("/api/next-trial").json()
    assert following["index"] == 1 and following["trial"] != trial["trial"]


def test_each_participant_gets_every_trial_once_plus_the_attention_check(client: TestClient) -> None:
    seen, kinds = set(), []
    _start(client)
    while True:
        trial = client.get("/api/next-trial").json()
        if trial["done"]:
            break
        seen.add(trial["trial"])
        assert (
            client.post(
                "/api/vote", json={"trial": trial["trial"], "smoother": "same", "refresh_hz": 60}
            ).status_code
            == 201
        )
        kinds.append(trial["left"] != trial["right"])
    assert len(seen) == 4  # 1 comparison × 3 speeds + 1 attention check
    assert all(kinds)  # even the attention check uses two different URLs


def test_the_mapping_never_leaks(client: TestClient, study_dir: Path) -> None:
    config = load_study_config(study_dir)
    secrets_ = {CANDIDATE_NAME, "original", "candidate.mp4", str(study_dir), *config.media}
    secrets_ |= {m.source for m in config.methods.values()}
    bodies = [client.get("/").text, client.get("/static/study.js").text, client.get("/static/study.css").text]
    bodies.append(client.get("/api/session").text)
    while True:
        response = client.get("/api/next-trial")
        bodies.append(response.text)
        trial = response.json()
        if trial["done"]:
            break
        assert set(trial) == {"done", "trial", "index", "total", "left", "right"}
        for side in ("left", "right"):
            media = client.get(trial[side])
            assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
            assert "content-disposition" not in media.headers
            bodies.append(json.dumps(dict(media.headers)))
        vote = client.post("/api/vote", json={"trial": trial["trial"], "smoother": "left", "refresh_hz": 60})
        assert set(vote.json()) == {"ok", "vote"}
        bodies.append(vote.text)
    for path in ("/docs", "/openapi.json", "/redoc", "/study.json", "/votes.sqlite3"):
        assert client.get(path).status_code == 404
    text = "\n".join(bodies)
    for secret in secrets_:
        assert secret not in text, secret


def test_bad_replayed_and_malformed_votes_are_rejected(client: TestClient, study_dir: Path) -> None:
    trial = _start(client)
    token = trial["trial"]
    good = {"trial": token, "smoother": "left", "refresh_hz": 60.0}
    assert client.post("/api/vote", json={**good, "trial": "A" * 32}).status_code == 404
    assert client.post("/api/vote", json={**good, "trial": "../../etc"}).status_code == 422
    assert client.post("/api/vote", json={**good, "smoother": "m1"}).status_code == 422
    assert client.post("/api/vote", json={**good, "refresh_hz": -5}).status_code == 422
    assert client.post("/api/vote", json={**good, "refresh_hz": "fast"}).status_code == 422
    assert client.post("/api/vote", json={**good, "winner": "m0"}).status_code == 422
    assert client.post("/api/vote", json={"smoother": "left"}).status_code == 422
    assert client.post("/api/vote", json=[good]).status_code == 422
    malformed = client.post("/api/vote", content=b'{"trial": ', headers={"content-type": "application/json"})
    assert malformed.status_code == 422
    # Another participant cannot vote on this participant's trial, nor can a request without a cookie.
    stranger = TestClient(create_app(study_dir))
    stranger.get("/api/session")
    assert stranger.post("/api/vote", json=good).status_code == 404
    assert TestClient(create_app(study_dir)).post("/api/vote", json=good).status_code == 401
    assert _rows(study_dir, "SELECT COUNT(*) AS n FROM votes WHERE trial_token = ?", (token,))[0]["n"] == 0
    assert client.post("/api/vote", json=good).status_code == 201
    replay = client.post("/api/vote", json={**good, "smoother": "right"})
    assert replay.status_code == 409
    [row] = _rows(study_dir, "SELECT smoother FROM votes WHERE trial_token = ?", (token,))
    assert row["smoother"] == "left"


@pytest.mark.parametrize(
    "path",
    [
        "/media/../study.json",
        "/media/..%2Fstudy.json",
        "/media/%2e%2e%2fstudy.json",
        "/media/%2e%2e/votes.sqlite3",
        "/media/..%2F..%2F..%2Fetc%2Fpasswd",
        "/media/....//study.json",
        "/static/..%2Fserver.py",
        "/static/../server.py",
        "/static/index.html%00.js",
        "/media/AAAAAAAAAAAAAAAAAAAAAA.mp4",
    ],
)
def test_path_traversal_on_media_and_static_routes_is_refused(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"sepgan-study" not in response.content and b"import" not in response.content


def test_media_is_served_only_by_alias_and_supports_range_requests(
    client: TestClient, study_dir: Path
) -> None:
    trial = _start(client)
    config = load_study_config(study_dir)
    real_token = next(iter(config.media))
    assert client.get(f"/media/{real_token}.mp4").status_code == 404  # file tokens are not URLs
    alias = trial["left"].removeprefix("/media/").removesuffix(".mp4")
    assert client.get(f"/media/{alias}").status_code == 404
    partial = client.get(trial["left"], headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206 and len(partial.content) == 100


# Headers that may differ between two media responses: the bytes force Content-Length, the
# clock Date, and the ETag is per alias by design (checked separately below).
_PER_RESPONSE = {"content-length", "date", "etag"}


def test_media_headers_do_not_tell_methods_apart(client: TestClient, study_dir: Path) -> None:
    # Encode order shows in file mtimes: make it blatant, the original oldest by a day.
    config = load_study_config(study_dir)
    for index, media in enumerate(sorted(config.media.values(), key=lambda m: m.method)):
        os.utime(study_dir / media.path, (1_700_000_000 + 86_400 * index,) * 2)
    _start(client)
    store = client.app.state.store  # type: ignore[attr-defined]
    responses, etags, attention_sides = [], [], []
    while not (trial := client.get("/api/next-trial").json())["done"]:
        pair = [client.get(trial[side]) for side in ("left", "right")]
        assert [r.status_code for r in pair] == [200, 200]
        names = [set(r.headers) for r in pair]
        assert names[0] == names[1]
        assert {k: v for k, v in pair[0].headers.items() if k not in _PER_RESPONSE} == {
            k: v for k, v in pair[1].headers.items() if k not in _PER_RESPONSE
        }
        if store.get_trial(trial["trial"]).kind == "attention":
            attention_sides = pair
        responses += pair
        etags += [r.headers["etag"] for r in pair]
        client.post("/api/vote", json={"trial": trial["trial"], "smoother": "same", "refresh_hz": 60})
    # Across trials and methods too: every header but those three is identical.
    shared = [{k: v for k, v in r.headers.items() if k not in _PER_RESPONSE} for r in responses]
    assert all(headers == shared[0] for headers in shared)
    assert len({r.headers["last-modified"] for r in responses}) == 1
    assert len(set(etags)) == len(etags)  # per alias: the attention check's sides differ
    assert attention_sides[0].content == attention_sides[1].content
    assert attention_sides[0].headers["etag"] != attention_sides[1].headers["etag"]
    # The same file shown to another participant gets other ETags: nothing links the files.
    other = TestClient(client.app)
    _start(other)
    while not (trial := other.get("/api/next-trial").json())["done"]:
        assert not {other.get(trial[side]).headers["etag"] for side in ("left", "right")} & set(etags)
        other.post("/api/vote", json={"trial": trial["trial"], "smoother": "same", "refresh_hz": 60})


def test_media_range_and_if_range_still_work(client: TestClient) -> None:
    trial = _start(client)
    full = client.get(trial["left"])
    assert full.headers["accept-ranges"] == "bytes"
    for validator in (full.headers["etag"], full.headers["last-modified"]):
        partial = client.get(trial["left"], headers={"Range": "bytes=10-19", "If-Range": validator})
        assert partial.status_code == 206 and partial.content == full.content[10:20]
    stale = client.get(trial["left"], headers={"Range": "bytes=10-19", "If-Range": '"someotherfile"'})
    assert stale.status_code == 200 and stale.content == full.content


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize("field", ["refresh_hz", "watch_ms"])
def test_non_finite_numbers_are_422_not_500(client: TestClient, literal: str, field: str) -> None:
    # Python's json module reads NaN and Infinity; they are not JSON, and used to crash the 422 itself.
    trial = _start(client)
    body = f'{{"trial": "{trial["trial"]}", "smoother": "left", "{field}": {literal}}}'
    response = client.post("/api/vote", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert client.post("/api/vote", json={"trial": trial["trial"], "smoother": "left"}).status_code == 201


def test_oversized_bodies_get_413_unparsed(client: TestClient, study_dir: Path) -> None:
    trial = _start(client)
    vote = {"trial": trial["trial"], "smoother": "left", "refresh_hz": 60}
    padded = json.dumps({**vote, "pad": "x" * MAX_BODY_BYTES}).encode()  # parsed, it would be a 422
    json_type = {"content-type": "application/json"}
    assert client.post("/api/vote", content=padded, headers=json_type).status_code == 413
    garbage = b"{" * (MAX_BODY_BYTES + 1)

    def chunks():  # no Content-Length: counted as it arrives
        for start in range(0, len(garbage), 4096):
            yield garbage[start : start + 4096]

    response = client.post("/api/vote", content=chunks(), headers=json_type)
    assert response.status_code == 413 and len(response.content) < 100
    count = "SELECT COUNT(*) AS n FROM votes WHERE trial_token = ?"
    assert _rows(study_dir, count, (trial["trial"],))[0]["n"] == 0
    assert client.post("/api/vote", json=vote).status_code == 201  # a real vote is far below the limit


@pytest.mark.parametrize(
    "body",
    [
        {"smoother": "Q" * 8000},
        {"smoother": "left", "Q" * 8000: 1},
        ["Q" * 8000],
        "Q" * 8000,
    ],
)
def test_422_never_echoes_the_input(client: TestClient, body: object) -> None:
    _start(client)
    response = client.post("/api/vote", json=body)
    assert response.status_code == 422
    assert "QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ" not in response.text
    assert len(response.content) < 1000
    assert all(set(error) == {"type", "loc", "msg"} for error in response.json()["detail"])


def test_new_sessions_per_client_are_limited(study_dir: Path) -> None:
    app = create_app(study_dir, sessions_per_hour=3)
    scripted = [TestClient(app, client=("203.0.113.7", 40000 + i)) for i in range(5)]
    statuses = [c.get("/api/session").status_code for c in scripted]
    assert statuses == [200, 200, 200, 429, 429]
    refused = scripted[3].get("/api/session")
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert "sepgan_participant" not in refused.cookies
    # A participant who has a session keeps it; another address is not affected.
    assert scripted[0].get("/api/session").status_code == 200
    assert TestClient(app, client=("198.51.100.2", 40000)).get("/api/session").status_code == 200
    unlimited = create_app(study_dir, sessions_per_hour=0)
    assert all(TestClient(unlimited).get("/api/session").status_code == 200 for _ in range(25))


def test_new_session_limit_is_a_sliding_window() -> None:
    now = [0.0]
    limit = NewSessionLimit(2, window_s=100.0, clock=lambda: now[0])
    assert limit.admit("a") is None and limit.admit("a") is None
    assert limit.admit("a") == pytest.approx(100.0) and limit.admit("b") is None
    now[0] = 60.0
    assert limit.admit("a") == pytest.approx(40.0)
    now[0] = 100.0  # both starts at t=0 have left the window
    assert limit.admit("a") is None and limit.admit("a") is None and limit.admit("a") is not None


def test_low_refresh_votes_are_flagged(client: TestClient, study_dir: Path) -> None:
    assert is_low_refresh(60.0, 120.0) and is_low_refresh(None, 30.0)
    assert (
        not is_low_refresh(60.0, 60.0) and not is_low_refresh(59.8, 60.0) and not is_low_refresh(144.0, 120.0)
    )
    assert not is_low_refresh(120.0, 240.0)  # >= 100 Hz displays are trusted
    trial = _start(client)
    client.post("/api/vote", json={"trial": trial["trial"], "smoother": "left", "refresh_hz": 30.0})
    [row] = _rows(
        study_dir, "SELECT low_refresh, playback_fps FROM votes WHERE trial_token = ?", (trial["trial"],)
    )
    assert row["low_refresh"] == int(row["playback_fps"] > 30 * 1.05)


# report ---------------------------------------------------------------------------------


def _vote_all(client: TestClient, prefer: str, attention: str, refresh_hz: float = 60.0) -> None:
    """Vote on every trial: prefer one method (by name) where it is shown; answer ``attention`` on checks."""
    _start(client)
    study = client.app.state.config  # type: ignore[attr-defined]
    preferred = next(k for k, m in study.methods.items() if m.name == prefer)
    store = client.app.state.store  # type: ignore[attr-defined]
    while not (trial := client.get("/api/next-trial").json())["done"]:
        stored = store.get_trial(trial["trial"])
        if stored.kind == "attention":
            choice = attention
        else:
            choice = "left" if stored.left_method == preferred else "right"
        vote = {"trial": trial["trial"], "smoother": choice, "refresh_hz": refresh_hz}
        assert client.post("/api/vote", json=vote).status_code == 201


def test_report_counts_excludes_and_writes_csv_and_png(tmp_path: Path, clips: dict[str, Path]) -> None:
    study = tmp_path / "study"
    create_study(clips["original"], [clips["candidate"]], study, names=["gan"], encoder_preset="ultrafast")
    app = create_app(study)
    for _ in range(3):
        _vote_all(TestClient(app), prefer="gan", attention="same")
    _vote_all(TestClient(app), prefer="original", attention="left")  # fails the attention check
    _vote_all(TestClient(app), prefer="original", attention="same", refresh_hz=24.0)  # flagged display
    report, paths = write_report(study, effects=(0.7,))
    overall = next(r for r in report.rows if r.scope == "all votes")
    assert (overall.n, overall.wins_a, overall.wins_b) == (3, 3, 0)
    assert overall.p_value == pytest.approx(0.25)
    assert (report.failed_attention, report.attention_checked, report.excluded_low_refresh) == (1, 5, 1)
    participants = next(r for r in report.rows if r.scope == "participants")
    assert (participants.wins_a, participants.n) == (3, 3)
    kept, _ = write_report(
        study, tmp_path / "r2", include_flagged=True, exclude_failed_attention=False, effects=(0.7,)
    )
    overall_all = next(r for r in kept.rows if r.scope == "all votes")
    assert (overall_all.wins_a, overall_all.wins_b) == (3, 2)
    csv_text = paths["csv"].read_text()
    assert csv_text.splitlines()[0].startswith("comparison,method_a,method_b,question,scope,n,")
    assert "gan vs original" in csv_text
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths["json"].read_text())["sample_sizes"]["0.7"] == 49


def test_report_counts_sessions_voters_and_exclusions(tmp_path: Path, clips: dict[str, Path]) -> None:
    study = tmp_path / "study"
    create_study(clips["original"], [clips["candidate"]], study, names=["gan"], encoder_preset="ultrafast")
    app = create_app(study)
    _vote_all(TestClient(app), prefer="gan", attention="same")
    _vote_all(TestClient(app), prefer="gan", attention="same")
    _vote_all(TestClient(app), prefer="original", attention="right")  # fails the attention check
    for _ in range(2):  # opened the page, never voted (or a script)
        assert TestClient(app).get("/api/session").status_code == 200
    report, paths = write_report(study, effects=(0.7,))
    assert (report.sessions, report.participants_voted, report.participants_excluded) == (5, 3, 1)
    assert report.participants == 2 and report.warning is None
    assert (
        "participants: 5 sessions started, 3 voted, 1 excluded (failed the attention check), 2 counted"
        in (format_text(report).splitlines())
    )
    saved = json.loads(paths["json"].read_text())
    assert (saved["sessions"], saved["participants_voted"], saved["participants_excluded"]) == (5, 3, 1)


@pytest.mark.slow
def test_report_says_plainly_when_exclusion_leaves_no_vote(
    tmp_path: Path, clips: dict[str, Path], runner_app: typer.Typer
) -> None:
    study = tmp_path / "study"
    create_study(clips["original"], [clips["candidate"]], study, names=["gan"], encoder_preset="ultrafast")
    _vote_all(TestClient(create_app(study)), prefer="gan", attention="left")  # the only one, and fails
    report, paths = write_report(study, effects=(0.7,))
    assert report.votes_total == 1 and report.votes_used == 0
    assert report.warning is not None
    assert report.warning.startswith("no votes remain after exclusion: all 1 comparison votes were excluded")
    assert "--no-exclude-failed-attention" in report.warning and "--include-flagged" not in report.warning
    text = format_text(report)
    assert text.startswith("WARNING: no votes remain after exclusion")
    overall = next(line for line in text.splitlines() if "all votes" in line)
    assert overall.split()[-2:] == ["-", "-"]  # no p = 1 from an empty sample
    assert json.loads(paths["json"].read_text())["warning"] == report.warning
    figure_text = [t.get_text() for t in _chart_figure(report).axes[0].texts]
    assert "no votes remain after exclusion" in figure_text and "no votes" in figure_text
    # The option the warning names exists and brings the votes back.
    result = CliRunner().invoke(
        runner_app, ["study", "report", str(study), "--no-exclude-failed-attention", "-y"]
    )
    assert result.exit_code == 0, result.output
    assert "WARNING" not in result.output and "comparison votes used: 1 of 1" in result.output
    flagged = tmp_path / "flagged"
    create_study(clips["original"], [clips["candidate"]], flagged, names=["gan"], encoder_preset="ultrafast")
    _vote_all(TestClient(create_app(flagged)), prefer="gan", attention="same", refresh_hz=20.0)
    warning = write_report(flagged, effects=(0.7,))[0].warning
    assert warning is not None and "1 from displays slower than the clip" in warning
    assert "--include-flagged" in warning and "--no-exclude-failed-attention" not in warning


@pytest.mark.parametrize(("wins_a", "wins_b"), [(0, 4), (4, 0), (2, 2), (0, 0)])
def test_chart_draws_every_p_value_label_visibly(study_dir: Path, wins_a: int, wins_b: int) -> None:
    config = load_study_config(study_dir)
    [(comparison_id, comparison)] = config.comparisons.items()
    clip_id = next(iter(config.clips))
    votes = [
        {
            "kind": "comparison",
            "participant_id": f"p{index}",
            "comparison_id": comparison_id,
            "clip_id": clip_id,
            "smoother": "left",
            "smoother_method": method,
            "low_refresh": 0,
        }
        for index, method in enumerate([comparison.a] * wins_a + [comparison.b] * wins_b)
    ]
    report = build_report(config, votes, effects=(0.7,))
    overall = next(r for r in report.rows if r.scope == "all votes")
    [label] = [t for t in _chart_figure(report).axes[0].texts if t.get_position()[0] == 0]
    expected = f"p={overall.p_value:.3f}" if wins_a + wins_b else "no votes"
    assert label.get_text() == expected
    assert label.get_color() == "black"  # the old white label vanished against the background at rate 0
    rate = 0.0 if not overall.n else overall.rate_a
    high = overall.ci_high if overall.n else 0.0
    assert rate <= high < label.get_position()[1] < 1.12  # above the bar and its error bar, inside the axes


# CLI ------------------------------------------------------------------------------------


@pytest.fixture()
def runner_app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(study_app, name="study")
    return app


def test_cli_create_and_report(tmp_path: Path, clips: dict[str, Path], runner_app: typer.Typer) -> None:
    runner = CliRunner()
    out = tmp_path / "s"
    args = ["study", "create", "--original", str(clips["original"]), "--candidate", str(clips["candidate"])]
    result = runner.invoke(runner_app, [*args, "-o", str(out), "--encoder-preset", "ultrafast"])
    assert result.exit_code == 0, result.output
    assert "1 comparisons, 2 trials per participant" in result.output
    TestClient(create_app(out)).get("/api/session")
    result = runner.invoke(runner_app, ["study", "report", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report" / "report.csv").is_file()
    # One overwrite rule (ffmpeg's): an existing report or study is refused without -y.
    result = runner.invoke(runner_app, ["study", "report", str(out)])
    assert result.exit_code == 2 and result.output == (
        f"error: {out / 'report'} already exists; use --overwrite to replace it\n"
    )
    assert runner.invoke(runner_app, ["study", "report", str(out), "-y"]).exit_code == 0
    result = runner.invoke(runner_app, [*args, "-o", str(out), "--encoder-preset", "ultrafast"])
    assert result.exit_code == 2 and "already exists; use --overwrite" in result.output
    for flag in ("-y", "--force"):  # --force: the old name, hidden
        result = runner.invoke(runner_app, [*args, "-o", str(out), "--encoder-preset", "ultrafast", flag])
        assert result.exit_code == 0, result.output
    assert not (out / "report").exists()  # the study folder was replaced whole


def test_cli_create_consent_minutes_and_completion_code(
    tmp_path: Path, clips: dict[str, Path], runner_app: typer.Typer
) -> None:
    runner = CliRunner()
    consent = tmp_path / "consent.txt"
    consent.write_text("Approved by board 7.\nNo personal data.\n", encoding="utf-8")
    args = ["study", "create", "--original", str(clips["original"]), "--candidate", str(clips["candidate"])]
    args += ["--encoder-preset", "ultrafast"]
    result = runner.invoke(runner_app, [*args, "-o", str(tmp_path / "bad"), "--completion-code", " x"])
    assert result.exit_code == 2 and result.output.startswith("error: --completion-code must be"), (
        result.output
    )
    result = runner.invoke(runner_app, [*args, "-o", str(tmp_path / "bad"), "--consent-file", str(tmp_path)])
    assert result.exit_code == 2 and result.output.startswith("error: ") and "consent" in result.output
    out = tmp_path / "s"
    flags = ["--consent-file", str(consent), "--minutes", "5", "--completion-code", "ABC-123"]
    result = runner.invoke(runner_app, [*args, "-o", str(out), *flags])
    assert result.exit_code == 0, result.output
    assert "2 trials per participant, about 5 min)" in result.output
    config = load_study_config(out)
    assert (config.consent, config.minutes, config.completion_code) == (
        "Approved by board 7.\nNo personal data.",
        5,
        "ABC-123",
    )


def test_cli_serve_checks_the_folder_before_printing_the_url(tmp_path: Path, runner_app: typer.Typer) -> None:
    result = CliRunner().invoke(runner_app, ["study", "serve", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "study page" not in result.output, result.output


@pytest.mark.parametrize("case", ["missing", "corrupt", "not-empty", "no-study"])
def test_cli_user_errors_are_one_line_without_traceback(
    tmp_path: Path, clips: dict[str, Path], runner_app: typer.Typer, case: str
) -> None:
    original, out = clips["original"], tmp_path / "out"
    if case == "missing":
        original = tmp_path / "missing.mp4"
    elif case == "corrupt":
        original = tmp_path / "corrupt.mp4"
        original.write_bytes(b"garbage" * 50)
    elif case == "not-empty":
        out.mkdir()
        (out / "x").write_text("x")
    if case == "no-study":
        args = ["study", "report", str(tmp_path)]
    else:
        args = [
            "study",
            "create",
            "--original",
            str(original),
            "--candidate",
            str(clips["candidate"]),
            "-o",
            str(out),
        ]
    result = CliRunner().invoke(runner_app, args)
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output


def test_variable_frame_rate_source_is_resampled_by_holding_frames(tmp_path: Path) -> None:
    # 20 frames on a 30 fps clock with a gap: pts 0-9, then 20-29. Brightness encodes the pts.
    vfr = tmp_path / "vfr.mp4"
    with av.open(str(vfr), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"preset": "ultrafast", "qp": "0"}
        for pts in [*range(10), *range(20, 30)]:
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), pts * 8, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 30)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    original = make_clip(tmp_path / "cfr.mp4", 30)
    config = create_study(original, [vfr], tmp_path / "s", names=["vfr"], encoder_preset="ultrafast", crf=0)
    media = next(m for m in config.media.values() if config.methods[m.method].name == "vfr")
    assert media.playback_fps == "30" and media.frames == 30
    with av.open(str(tmp_path / "s" / media.path)) as container:
        levels = [round(float(f.to_ndarray(format="rgb24").mean()) / 8) for f in container.decode(video=0)]
    assert levels == [*range(10), *([9] * 10), *range(20, 30)]
    assert any("variable frame rate" in note for note in config.notes)


def _served_duration(path: Path) -> tuple[Fraction, Fraction]:
    """(start, end) of a file's video in seconds, as a player sees it: first pts, last pts + duration."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        start = Fraction(frames[0].pts) * stream.time_base
        end = Fraction(frames[-1].pts + frames[-1].duration) * stream.time_base
        assert stream.start_time == frames[0].pts
        assert Fraction(stream.duration) * stream.time_base == end - start
    return start, end


def test_every_arm_of_a_trial_starts_together_and_lasts_exactly_as_long(tmp_path: Path) -> None:
    # The tell of issue 28: 59 frames at 25 fps (2.36 s) beside 140 at 60 fps (2.333 s).
    original = make_clip(tmp_path / "original.mp4", 25, seconds=2.36)
    candidate = make_clip(tmp_path / "candidate.mp4", 60, seconds=7 / 3)
    other = make_clip(tmp_path / "other.mp4", Fraction(30000, 1001), seconds=2.4)
    study = tmp_path / "study"
    config = create_study(original, [candidate, other], study, slow_motion=True, encoder_preset="ultrafast")
    client = TestClient(create_app(study))
    client.get("/api/session")
    seen = set()
    while not (trial := client.get("/api/next-trial").json())["done"]:
        stored = _rows(study, "SELECT * FROM trials WHERE token = ?", (trial["trial"],))[0]
        clip = config.clips[stored["clip_id"]]
        expected = Fraction(clip.duration).limit_denominator(1000) / Fraction(clip.speed)
        times = []
        for side in ("left", "right"):
            response = client.get(trial[side])
            assert response.status_code == 200
            served = tmp_path / f"served-{side}.mp4"
            served.write_bytes(response.content)
            times.append(_served_duration(served))
        assert times[0] == times[1] == (0, expected), (stored["clip_id"], times)
        seen.add((stored["left_method"], stored["right_method"], stored["clip_id"]))
        client.post("/api/vote", json={"trial": trial["trial"], "smoother": "same", "refresh_hz": 60.0})
    assert Fraction(config.clips["c0"].duration).limit_denominator(1000) == Fraction(7, 3)
    assert {m for pair in seen for m in pair[:2]} == {"m0", "m1", "m2"}
    assert {clip for *_, clip in seen} == {"c0", "c1", "c2"}  # 1×, ½× and ¼×
    frames = {(config.methods[m.method].name, m.clip): m.frames for m in config.media.values()}
    assert frames[("original", "c0")] == 58  # 2.32 s of whole 25 fps frames, the last held to 7/3 s
    assert frames[("candidate", "c0")] == 140


def test_first_page_texts_and_the_completion_code_only_at_the_end(
    tmp_path: Path, clips: dict[str, Path]
) -> None:
    default = create_study(
        clips["original"], [clips["candidate"]], tmp_path / "d", encoder_preset="ultrafast"
    )
    assert default.completion_code is None and "user-agent" in default.consent
    assert default.minutes == 1  # 2 trials of a 1 s clip plus 10 s per answer
    study = tmp_path / "s"
    create_study(
        clips["original"], [clips["candidate"]], study, encoder_preset="ultrafast",
        consent="Ethics approval 42.\nWe keep your votes.", minutes=7, completion_code="PROLIFIC-1234",
    )  # fmt: skip
    client = TestClient(create_app(study))
    session = client.get("/api/session").json()
    assert session["consent"] == "Ethics approval 42.\nWe keep your votes." and session["minutes"] == 7
    assert session["desktop_width"] > 700  # wider than the phone layout's breakpoint
    assert "PROLIFIC-1234" not in json.dumps(session)
    while not (trial := client.get("/api/next-trial").json())["done"]:
        assert "PROLIFIC-1234" not in json.dumps(trial)
        client.post("/api/vote", json={"trial": trial["trial"], "smoother": "left", "refresh_hz": 60.0})
    assert trial["completion_code"] == "PROLIFIC-1234"
    for bad in ("", " padded ", "x" * 65, "tab\there"):
        with pytest.raises(UserError, match="completion_code must be"):
            create_study(clips["original"], [clips["candidate"]], tmp_path / "bad", completion_code=bad)
    with pytest.raises(StudyError, match="minutes must be at least 1"):
        create_study(clips["original"], [clips["candidate"]], tmp_path / "bad", minutes=0)
