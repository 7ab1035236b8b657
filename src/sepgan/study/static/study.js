// sepgan blind A/B study page.
// The page knows nothing about methods: the server hands it a trial token and two
// opaque media URLs, and records which method sat on which side.
// Flow: measure the display refresh rate -> session cookie -> for each trial:
// load both clips, play them in full at least once (side by side, in sync: started in
// the same tick once both can play through, or one after the other), then enable the
// answers; submit; next trial.
"use strict";

const state = {
  refreshHz: null,   // measured with requestAnimationFrame, sent with every vote
  session: null,     // {title, layout, ask_artifacts, trials, consent, minutes, desktop_width}
  trial: null,       // {trial, index, total, left, right}
  answers: {},       // question -> "left" | "right" | "same"
  watched: false,    // both clips have played to the end at least once
  shownAt: 0,
  playToken: 0,      // bumps on every (re)play so stale handlers do nothing
};

const RESYNC_SECONDS = 0.005;  // side by side, a lag past this at the start is re-synced (a 200 fps frame)

const $ = (id) => document.getElementById(id);
const videos = () => [$("video-left"), $("video-right")];

function setState(name) { document.body.dataset.state = name; }

// Median frame interval over ~1 s of requestAnimationFrame callbacks. rAF fires
// once per display refresh, so 1000 / median interval is the refresh rate; the
// median ignores the odd dropped or doubled callback.
function measureRefreshRate(durationMs = 1000) {
  return new Promise((resolve) => {
    const stamps = [];
    function tick(now) {
      stamps.push(now);
      if (now - stamps[0] < durationMs) {
        requestAnimationFrame(tick);
        return;
      }
      const deltas = stamps.slice(1).map((t, i) => t - stamps[i]).sort((a, b) => a - b);
      const median = deltas.length ? deltas[Math.floor(deltas.length / 2)] : 0;
      resolve(median > 0 ? 1000 / median : null);
    }
    requestAnimationFrame(tick);
  });
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  let body = null;
  try { body = await response.json(); } catch (_) { /* empty body */ }
  if (!response.ok) {
    const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : response.statusText;
    throw new Error(`${response.status}: ${detail}`);
  }
  return body;
}

function labels(layout) {
  const [a, b] = layout === "sequential" ? ["First", "Second"] : ["Left", "Right"];
  $("caption-left").textContent = a;
  $("caption-right").textContent = b;
  document.querySelectorAll(".label-left").forEach((el) => { el.textContent = a; });
  document.querySelectorAll(".label-right").forEach((el) => { el.textContent = b; });
}

function updateSubmit() {
  const needed = state.session.ask_artifacts ? ["smoother", "artifacts"] : ["smoother"];
  const complete = needed.every((q) => state.answers[q]);
  $("submit").disabled = !(state.watched && complete);
}

function enableAnswers() {
  state.watched = true;
  $("q-smoother").disabled = false;
  $("q-artifacts").disabled = false;
  $("watch-hint").hidden = true;
  setState("answering");
  updateSubmit();
}

// Resolves when `video` next ends: true if this is still the current play (`token`).
function endedOnce(video, token) {
  return new Promise((resolve) => {
    video.addEventListener("ended", () => resolve(token === state.playToken), { once: true });
  });
}

function playbackFailed(err) { $("error").textContent = `Playback failed: ${err.message}`; }

function playOnce(video, token) {
  const ended = endedOnce(video, token);
  video.currentTime = 0;
  video.play().catch(playbackFailed);
  return ended;
}

// Resolves once `video` has finished any seek in progress (readyState is back once it has).
function seekDone(video) {
  return new Promise((resolve) => {
    if (!video.seeking) { resolve(); return; }
    video.addEventListener("seeked", () => resolve(), { once: true });
  });
}

// Both clips from 0 at once: rewound, and once both can play through (readyState >= 3, so
// neither stalls at the start while the other runs on), play() is called on both in the same
// tick; when both play, the second is set to the first one's time, so that a start that one
// browser pipeline took longer over does not show as a lag (the blinding asks the same start).
async function startTogether(pair, token) {
  pair.forEach((video) => { video.pause(); video.currentTime = 0; });
  await Promise.all(pair.map(seekDone));
  await Promise.all(pair.map(waitForData));
  if (token !== state.playToken) return false;
  const started = pair.map((video) => video.play());  // the same tick: no await between the two
  try {
    await Promise.all(started);
  } catch (err) {
    playbackFailed(err);
    return false;
  }
  if (token !== state.playToken) return false;
  // Re-sync: a seek of its own costs the second clip a few milliseconds, so only a larger lag is worth it.
  if (Math.abs(pair[1].currentTime - pair[0].currentTime) > RESYNC_SECONDS) {
    pair[1].currentTime = pair[0].currentTime;
  }
  return true;
}

// Side by side: start both together, wait for both to end, then loop in sync until the vote.
async function playSideBySide(token) {
  const pair = videos();
  while (token === state.playToken) {
    const ended = pair.map((video) => endedOnce(video, token));
    if (!(await startTogether(pair, token))) return;
    const finished = await Promise.all(ended);
    if (!finished.every(Boolean)) return;
    if (!state.watched) enableAnswers();
  }
}

// One after the other: first clip, then second; answers open after one full pass.
async function playSequential(token) {
  const [first, second] = videos();
  const figures = [first.parentElement, second.parentElement];
  for (const [video, figure, other] of [[first, figures[0], figures[1]], [second, figures[1], figures[0]]]) {
    other.classList.remove("showing");
    figure.classList.add("showing");
    if (!(await playOnce(video, token))) return;
  }
  if (!state.watched) enableAnswers();
}

function play() {
  state.playToken += 1;
  const token = state.playToken;
  videos().forEach((v) => v.pause());
  setState(state.watched ? "answering" : "playing");
  if (state.session.layout === "sequential") playSequential(token);
  else playSideBySide(token);
}

function waitForData(video) {
  return new Promise((resolve, reject) => {
    if (video.readyState >= 3) { resolve(); return; }
    video.addEventListener("canplaythrough", () => resolve(), { once: true });
    video.addEventListener("error", () => reject(new Error("a clip failed to load")), { once: true });
  });
}

async function nextTrial() {
  setState("loading");
  const trial = await api("/api/next-trial");
  if (trial.done) {
    $("trial").hidden = true;
    $("done").hidden = false;
    $("progress").textContent = "";
    if (trial.completion_code) {
      $("completion-code").textContent = trial.completion_code;
      $("completion").hidden = false;
    }
    setState("done");
    return;
  }
  state.trial = trial;
  state.answers = {};
  state.watched = false;
  document.querySelectorAll(".choice").forEach((el) => el.classList.remove("selected"));
  $("q-smoother").disabled = true;
  $("q-artifacts").disabled = true;
  $("watch-hint").hidden = false;
  $("submit").disabled = true;
  $("error").textContent = "";
  $("progress").textContent = `Pair ${trial.index + 1} of ${trial.total}`;
  const [left, right] = videos();
  left.src = trial.left;
  right.src = trial.right;
  await Promise.all([waitForData(left), waitForData(right)]);
  state.shownAt = performance.now();
  play();
}

async function submit() {
  $("submit").disabled = true;
  const vote = {
    trial: state.trial.trial,
    smoother: state.answers.smoother,
    refresh_hz: state.refreshHz,
    watch_ms: Math.round(performance.now() - state.shownAt),
  };
  if (state.session.ask_artifacts) vote.artifacts = state.answers.artifacts;
  try {
    await api("/api/vote", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(vote),
    });
    state.playToken += 1;  // stop the loop of the old pair
    await nextTrial();
  } catch (err) {
    $("error").textContent = `Could not save the answer (${err.message}).`;
    updateSubmit();
  }
}

// The study is meant for a desktop or laptop: warn (do not refuse) when the window is narrower.
function checkViewport() {
  if (!state.session) return;
  const width = window.innerWidth;
  const narrow = width < state.session.desktop_width;
  $("viewport-warning").hidden = !narrow;
  $("viewport-warning").textContent = narrow
    ? `This window is ${width} pixels wide. The study is meant for a screen at least ` +
      `${state.session.desktop_width} pixels wide: please switch to a desktop or laptop, or widen the window.`
    : "";
}

function updateStart() {
  $("start").disabled = !(state.session && $("agree").checked);
}

async function main() {
  state.refreshHz = await measureRefreshRate();
  window.sepganRefreshHz = state.refreshHz;  // read by the browser test
  $("refresh-note").textContent = state.refreshHz
    ? `Your display refreshes about ${Math.round(state.refreshHz)} times per second.`
    : "Could not measure your display's refresh rate.";
  state.session = await api("/api/session");
  $("title").textContent = state.session.title;
  $("stage").className = state.session.layout === "sequential" ? "sequential" : "side-by-side";
  $("q-artifacts").hidden = !state.session.ask_artifacts;
  labels(state.session.layout);
  $("consent").textContent = state.session.consent;
  $("estimate").textContent = state.session.minutes
    ? `It takes about ${state.session.minutes} minute${state.session.minutes === 1 ? "" : "s"} ` +
      `(${state.session.trials} pairs).`
    : `There are ${state.session.trials} pairs.`;
  checkViewport();
  window.addEventListener("resize", checkViewport);
  updateStart();
  setState("intro");
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.choice");
  if (!button || button.closest("fieldset").disabled) return;
  const question = button.dataset.question;
  document.querySelectorAll(`button.choice[data-question="${question}"]`)
    .forEach((el) => el.classList.toggle("selected", el === button));
  state.answers[question] = button.dataset.value;
  updateSubmit();
});
$("agree").addEventListener("change", updateStart);
$("start").addEventListener("click", () => {
  $("intro").hidden = true;
  $("trial").hidden = false;
  nextTrial().catch((err) => { $("error").textContent = err.message; });
});
$("replay").addEventListener("click", play);
$("submit").addEventListener("click", submit);
main().catch((err) => { $("refresh-note").textContent = `Error: ${err.message}`; });
