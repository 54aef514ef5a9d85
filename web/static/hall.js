// The village-hall TV page (also /view): shows the commune room full screen on a box left
// unattended for weeks, so every failure path ends in a fresh WHEP session, never a dead screen.
// A hall's TV also sends its own camera and microphone from the start, and takes part in
// the floor with the remote: raise a hand, speak when given the floor, end it.
//
// The page is one state machine (tv-state.js): `reduce(state, event)` is pure and takes every
// socket message, track event, key press and timer tick; `render(state)` draws; `effects(prev,
// next)` does the I/O the change asks for. What the TV says comes from the bridge's state
// messages and this page's own track events, never from how old the last frame is.

import {
  pageParams, watchWhep, publishWhip, hallCapture, openSocket, backoffDelay, readLinkStats,
} from "./protocol.js";
import { t, lang, describeError, localize } from "./i18n.js";
import { initialState, reduce, view, layoutOf, publishing, ownHand, upcoming } from "./tv-state.js";
import { formatWhen } from "./when.js";
import { floorElements, renderFloor, focusScope } from "./tv-floor.js";
import { installRemote, isOk } from "./remote.js";
import { renderNotice, playNotice } from "./recording.js";

export { initialState, reduce, view };

const REPORT_EVERY_MS = 2000;
const LOG_LENGTH = 50;

// ---- the page ----

const { key, hall } = pageParams();
const $ = (id) => document.getElementById(id);
const video = $("video");
const ui = {
  status: $("status"), statusText: $("status-text"), statusDetail: $("status-detail"),
  prompt: $("sound-prompt"), commune: $("commune"), hallName: $("hall-name"),
  time: $("clock-time"), date: $("clock-date"), recording: $("recording"), ...floorElements(),
  next: $("next-meeting"), nextTitle: $("next-title"), nextWhen: $("next-when"),
};

// A hall's own page watches the chair and the speaking hall apart; /view the program.
let state = { ...initialState, layout: hall ? "hall" : "program" };
/** Read by tests and a technician's console; refreshed on every event. */
const stats = { hall, log: [] };
window.hallStats = stats;

function dispatch(event) {
  const prev = state;
  state = reduce(prev, { at: Date.now(), ...event });
  if (state !== prev) {
    render(state);
    effects(prev, state);
  }
}

function render(s) {
  const name = view(s);
  const hand = ownHand(s);
  Object.assign(stats, {
    state: name, framesRendered: s.frames, lastFrameAt: s.lastFrameAt, sessions: s.sessions,
    pcState: s.pc, socket: s.socket,
    broadcastLive: s.broadcast && s.socket === "open" ? s.broadcast.live : null,
    videoCodec: s.broadcast?.video ?? null, audioCodec: s.broadcast?.audio ?? null,
    soundBlocked: s.soundBlocked, audioTracks: s.audio === "none" ? 0 : 1, trouble: s.trouble,
    layout: layoutOf(s), floorHall: s.floor?.hall ?? null, floorFrames: s.floorFrames,
    floorVideo: s.floorVideo, floorAudio: s.floorAudio, slidesVideo: s.slidesVideo,
    slides: s.slides, publishing: publishing(s),
    queuePlace: hand ? hand.position ?? null : null, dialog: s.dialog,
    meeting: s.meeting?.id ?? null, nextMeeting: upcoming(s)?.title ?? null,
    recording: s.rec.recording?.id ?? null, chimes: s.rec.chimes,
  });
  renderNext(upcoming(s));
  renderNotice(ui.recording, s.rec);
  renderFloor(s, ui, Date.now());
  ui.prompt.hidden = !s.soundBlocked;
  const detail = name === "error" ? `${describeError(s.fatal)} ${t("tv.retrying")}`
    : s.socket === "refused" ? t("socket.refused") : "";
  if (name === ui.status.dataset.state && detail === ui.statusDetail.textContent) return;
  stats.log.push({ state: name, at: Date.now(), frames: s.frames });
  if (stats.log.length > LOG_LENGTH) stats.log.shift();
  ui.status.dataset.state = name;
  ui.status.hidden = name === "live";
  if (name !== "live") ui.statusText.textContent = t("tv." + name);
  ui.statusDetail.textContent = detail;
  ui.statusDetail.hidden = !detail;
}

// Between meetings the waiting screen says what comes next, and when (Vietnam time).
function renderNext(next) {
  ui.next.hidden = !next;
  ui.nextTitle.textContent = next ? next.title : "";
  ui.nextWhen.textContent = next ? formatWhen(next.starts_at, lang) : "";
}

// ---- effects: the I/O a state change asks for ----

let running = 0; // the session generation our current WHEP attempt belongs to
let handle = null;
let abort = null;
let startTimer = null;

function effects(prev, next) {
  if (next.session.gen !== running) {
    running = next.session.gen;
    stopSession();
    const wait = next.session.wait === null ? 0 : backoffDelay(next.session.wait);
    startTimer = setTimeout(() => startSession(running), wait);
  }
  if (next.pub.gen !== publishingGen) {
    publishingGen = next.pub.gen;
    stopPublishing();
    if (!next.pub.stopped) {
      const wait = next.pub.wait === null ? 0 : backoffDelay(next.pub.wait);
      pubTimer = setTimeout(() => startPublishing(publishingGen), wait);
    }
  }
  if (prev.soundBlocked && !next.soundBlocked) play();
  if (next.rec.chimes > prev.rec.chimes) playNotice();
}

function stopSession() {
  clearTimeout(startTimer);
  abort?.abort();
  abort = null;
  handle?.stop();
  handle = null;
}

// The chair's tracks (or the program's) play in #video, the speaking hall's in
// #floor-video: both inside this page, where the browser's echo canceller hears them.
// The chair's shared screen plays in #slides-video (a picture only: no sound of its own).
const PLAYERS = { "floor-video": "floor", "floor-audio": "floor", "slides-video": "slides" };

async function startSession(gen) {
  const tracks = [];
  abort = new AbortController();
  try {
    const h = await watchWhep({
      key, iceServers: state.iceServers, connection: state.connection, signal: abort.signal,
      layout: state.layout,
      onTrack: (track, where) => tracks.push({ track, slot: where.slot }),
      onState: (pcState) => dispatch({ type: "pc", gen, state: pcState }),
    });
    if (gen !== running) { h.stop(); return; }
    handle = h;
    const kinds = {};
    for (const { track, slot } of tracks) {
      watchTrack(track, slot, gen);
      kinds[slot] = track.muted ? "muted" : "live";
    }
    const of = (...slots) => slots.map((slot) => kinds[slot]).find(Boolean) || "none";
    dispatch({
      type: "session-up", gen, pc: h.state,
      video: of("chair-video", "program-video"), audio: of("chair-audio", "program-audio"),
      floorVideo: of("floor-video"), floorAudio: of("floor-audio"), slidesVideo: of("slides-video"),
    });
    const player = (name) => tracks.filter((tr) => PLAYERS[tr.slot] === name).map((tr) => tr.track);
    const stream = (list) => (list.length ? new MediaStream(list) : null);
    video.srcObject = new MediaStream(player(undefined));
    ui.floorVideo.srcObject = stream(player("floor"));
    ui.slidesVideo.srcObject = stream(player("slides"));
    play();
  } catch (err) {
    if (gen === running) dispatch({ type: "session-failed", gen, status: err.status, code: err.code });
  }
}

function watchTrack(track, slot, gen) {
  const kind = track.kind;
  track.addEventListener("mute", () => dispatch({ type: "track", gen, kind, slot, state: "muted" }));
  track.addEventListener("unmute", () => dispatch({ type: "track", gen, kind, slot, state: "live" }));
  track.addEventListener("ended", () => dispatch({ type: "track", gen, kind, slot, state: "ended" }));
}

async function play() {
  for (const player of [video, ui.floorVideo, ui.slidesVideo]) {
    if (!player.srcObject) continue;
    player.muted = state.soundBlocked;
    try {
      await player.play();
    } catch (err) {
      // AbortError just means a newer session replaced the source mid-play.
      if (err.name !== "NotAllowedError") continue;
      // The picture matters more than the sound: play muted and ask for one key press.
      player.muted = true;
      dispatch({ type: "sound-blocked" });
      player.play().catch(() => {});
    }
  }
}

function watchFrames(player, type) {
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const loop = () => { dispatch({ type }); player.requestVideoFrameCallback(loop); };
    player.requestVideoFrameCallback(loop);
    return;
  }
  // Older engines: a moving currentTime is the best sign of a new frame we get.
  let last = -1;
  setInterval(() => {
    if (!player.paused && player.currentTime !== last) { last = player.currentTime; dispatch({ type }); }
  }, 200);
}

// ---- the hall's own camera and microphone, out over WHIP ----

let publishingGen = 0;
let publisher = null;
let pubAbort = null;
let pubTimer = null;
let camera = null; // the local stream; kept across sessions, so a rejoin does not reopen it

function stopPublishing() {
  clearTimeout(pubTimer);
  pubAbort?.abort();
  pubAbort = null;
  publisher?.stop();
  publisher = null;
}

async function startPublishing(gen) {
  pubAbort = new AbortController();
  try {
    if (!camera || camera.getTracks().some((tr) => tr.readyState === "ended")) {
      camera?.getTracks().forEach((tr) => tr.stop());
      camera = null;
      try {
        camera = await navigator.mediaDevices.getUserMedia(hallCapture());
      } catch {
        throw Object.assign(new Error("no camera"), { code: "media" });
      }
      ui.preview.srcObject = camera;
    }
    const p = await publishWhip({
      key, stream: camera, profile: "hall", iceServers: state.iceServers,
      connection: state.connection, signal: pubAbort.signal,
      onState: (pcState) => dispatch({ type: "pub-pc", gen, state: pcState }),
    });
    if (gen !== publishingGen) { p.stop(); return; }
    publisher = p;
    dispatch({ type: "pub-up", gen, pc: p.state });
  } catch (err) {
    if (gen === publishingGen) dispatch({ type: "pub-failed", gen, status: err.status, code: err.code });
  }
}

// ---- the remote's buttons ----

function act(action, send) {
  dispatch({ type: "ui", action });
  send?.();
}

const ACTIONS = {
  raise: () => act("raise", () => socket.raiseHand()),
  lower: () => {
    const hand = ownHand(state);
    if (hand) act("lower", () => socket.withdraw(hand.id));
  },
  "details-open": () => act("details"),
  "details-send": () => act("raise", () => {
    socket.raiseHand({ name: ui.name.value.trim() || undefined, topic: ui.topic.value.trim() || undefined });
    // The name is likely the same operator next time; the topic is not.
    ui.topic.value = "";
  }),
  "details-cancel": () => act("back"),
  end: () => act("end", () => socket.endFloor()),
  "consent-yes": () => act("consent", () => socket.consent(true)),
  "consent-no": () => act("consent", () => socket.consent(false)),
};

for (const [id, action] of Object.entries(ACTIONS)) $(id).addEventListener("click", action);
// OK in a text field goes on to the next field, and sends from the last one.
ui.name.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); ui.topic.focus(); } });
ui.topic.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); ACTIONS["details-send"](); } });
installRemote({
  scope: () => focusScope(state, ui),
  onBack: () => {
    if (!state.dialog) return false;
    dispatch({ type: "ui", action: "back" });
    return true;
  },
});

// ---- what this TV really shows, told to the bridge every 2 s ----

let socket = null;
let lastReport = null;

async function report() {
  if (!state.mayReport || state.socket !== "open" || !socket) return;
  const now = Date.now();
  const link = handle ? await readLinkStats(handle.pc) : null;
  const prev = lastReport;
  lastReport = { at: now, frames: state.frames, link };
  const seconds = prev ? Math.max((now - prev.at) / 1000, 0.001) : 0;
  const delta = (name) => (prev?.link && link ? Math.max(0, link[name] - prev.link[name]) : 0);
  const lost = delta("packetsLost");
  const received = delta("packetsReceived");
  socket.report({
    shown: view(state),
    frames: state.frames,
    fps: seconds ? Math.round(((state.frames - prev.frames) / seconds) * 10) / 10 : 0,
    width: video.videoWidth || 0,
    height: video.videoHeight || 0,
    audioLevel: intervalLevel(delta("audioEnergy"), delta("audioSeconds"), link),
    loss: lost + received > 0 ? lost / (lost + received) : 0,
    jitterMs: link?.jitterMs ?? 0,
    rttMs: link?.rttMs ?? null,
    bitrateKbps: seconds ? Math.round(delta("bytesReceived") * 8 / seconds / 100) / 10 : 0,
  });
}

/** The RMS level over the interval (as WebRTC defines audio energy), else the point sample. */
function intervalLevel(energy, seconds, link) {
  if (seconds > 0) return Math.sqrt(energy / seconds);
  return link?.audioLevel ?? 0;
}

// ---- housekeeping ----

function clock() {
  const now = new Date();
  const locale = lang === "en" ? "en-GB" : "vi-VN";
  ui.time.textContent = now.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", hour12: false });
  ui.date.textContent = now.toLocaleDateString(locale, { weekday: "long", day: "numeric", month: "numeric", year: "numeric" });
}

let wakeLock = null;
async function keepAwake() {
  // The lock is dropped whenever the page is hidden, so take it again on return.
  if (!navigator.wakeLock || document.visibilityState !== "visible" || (wakeLock && !wakeLock.released)) return;
  try { wakeLock = await navigator.wakeLock.request("screen"); } catch { /* not allowed here (e.g. plain http) */ }
}

function enableSound() {
  if (state.soundBlocked) dispatch({ type: "sound-enabled" });
}

localize();
render(state);
clock();
setInterval(() => { clock(); dispatch({ type: "tick" }); renderFloor(state, ui, Date.now(), true); }, 1000);
setInterval(report, REPORT_EVERY_MS);
watchFrames(video, "frame");
watchFrames(ui.floorVideo, "floor-frame");
keepAwake();
document.addEventListener("visibilitychange", keepAwake);
// Registered before the remote's handler: OK first turns the sound on, when it is blocked.
document.addEventListener("keydown", (ev) => {
  if (!state.soundBlocked || !isOk(ev)) return;
  ev.preventDefault();
  enableSound();
}, { capture: true });
document.addEventListener("click", enableSound);
addEventListener("pagehide", () => { handle?.stop(); publisher?.stop(); });
socket = openSocket({
  key,
  onMessage: (msg) => {
    if (msg.type === "welcome") {
      ui.commune.textContent = msg.commune || "";
      ui.hallName.textContent = msg.hall?.name || "";
    }
    dispatch({ type: "message", msg });
  },
  onStatus: (status) => dispatch({ type: "socket", status }),
});
effects(initialState, state); // the first session

// For tests and screenshots: force an overlay state (null to release) or a rejoin.
window.hallDebug = {
  force(name) { dispatch({ type: "force", state: name }); },
  rejoin() { dispatch({ type: "rejoin" }); },
};
