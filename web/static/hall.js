// The village-hall TV page (also /view): shows the commune room full screen on a box left
// unattended for weeks, so every failure path ends in a fresh WHEP session, never a dead screen.

import { pageParams, watchWhep, openSocket, backoffDelay } from "./protocol.js";
import { t, lang, describeError, localize } from "./i18n.js";

const { key, hall } = pageParams();
const $ = (id) => document.getElementById(id);
const video = $("video");
const ui = {
  status: $("status"), statusText: $("status-text"), statusDetail: $("status-detail"),
  prompt: $("sound-prompt"), commune: $("commune"), hallName: $("hall-name"),
  time: $("clock-time"), date: $("clock-date"),
};

const FRAME_STALE_MS = 5000;
const DISCONNECT_GRACE_MS = 5000;
// A fresh pc needs a moment for its first keyframe; don't flash "waiting" meanwhile.
const FIRST_FRAME_GRACE_MS = 3000;
// Live, connected, yet no picture for this long: the bridge lost track of us; start over.
const STALL_REJOIN_MS = 20000;
// On socket reconnect, a picture this recent proves the bridge did not restart.
const STILL_FLOWING_MS = 500;
// Answers that mean this screen cannot watch until someone fixes something; we still retry.
const FATAL_STATUS = new Set([400, 401, 403, 406, 415]);
const OK_KEYS = new Set(["Enter", " ", "NumpadEnter", "Select"]);

/** Counters for tests and for a technician's console. */
const stats = {
  framesRendered: 0, lastFrameAt: 0, audioTracks: 0, sessions: 0, state: "connecting",
  hall, pcState: "new", broadcastLive: null, socket: "connecting", soundBlocked: false,
};
window.hallStats = stats;

let handle = null;
let abort = null;
let generation = 0; // bumps on every drop, so answers from an abandoned attempt are ignored
let attempt = 0;
let retryTimer = null;
let retryPending = false;
let disconnectTimer = null;
let connectedAt = 0;
let trouble = false; // something broke since the last good picture: say "reconnecting", not "connecting"
let fatalError = null;
let socketWasClosed = false;
let forced = null;
let iceServers = []; // STUN/TURN from the bridge's config, via welcome
let connection = null; // our socket's id, from welcome: lets the bridge address this page
let videoExpected = true; // false while the chair sends sound only (no camera)
let offAirAt = 0; // when the bridge last said the chair is not live

// ---- WHEP sessions ----

function dropSession() {
  generation++;
  clearTimeout(retryTimer);
  clearTimeout(disconnectTimer);
  retryPending = false;
  abort?.abort();
  abort = null;
  handle?.stop();
  handle = null;
  stats.pcState = "new";
}

async function startSession() {
  dropSession();
  const gen = generation;
  const tracks = [];
  abort = new AbortController();
  try {
    const h = await watchWhep({
      key, iceServers, connection, signal: abort.signal,
      onTrack: (track) => tracks.push(track),
      onState: (state) => { if (gen === generation) onPcState(state); },
    });
    if (gen !== generation) { h.stop(); return; }
    handle = h;
    stats.sessions++;
    fatalError = null;
    attach(new MediaStream(tracks));
    onPcState(h.state);
  } catch (err) {
    if (gen !== generation) return;
    fatalError = FATAL_STATUS.has(err.status) ? err : null;
    scheduleRejoin();
  }
}

/** Drop the current session and make a new one after back-off (the bridge has no ICE restart). */
function scheduleRejoin(immediate = false) {
  dropSession();
  trouble = true;
  retryPending = true;
  retryTimer = setTimeout(startSession, immediate ? 0 : backoffDelay(attempt++));
  render();
}

function onPcState(state) {
  stats.pcState = state;
  clearTimeout(disconnectTimer);
  if (state === "connected") {
    connectedAt = Date.now();
  } else if (state === "disconnected") {
    trouble = true;
    disconnectTimer = setTimeout(() => scheduleRejoin(), DISCONNECT_GRACE_MS);
  } else if (state === "failed") {
    scheduleRejoin();
  }
  render();
}

// ---- picture and sound ----

function attach(stream) {
  video.srcObject = stream;
  stats.audioTracks = stream.getAudioTracks().length;
  play();
}

async function play() {
  video.muted = stats.soundBlocked;
  try {
    await video.play();
  } catch (err) {
    // AbortError just means a newer session replaced the source mid-play.
    if (err.name !== "NotAllowedError") return;
    // The picture matters more than the sound: play muted and ask for one key press.
    stats.soundBlocked = true;
    video.muted = true;
    ui.prompt.hidden = false;
    video.play().catch(() => {});
  }
}

function enableSound() {
  if (!stats.soundBlocked) return;
  stats.soundBlocked = false;
  ui.prompt.hidden = true;
  play();
}

function onFrame() {
  stats.framesRendered++;
  stats.lastFrameAt = Date.now();
  trouble = false;
  attempt = 0;
  if (stats.state !== "live") render();
}

function watchFrames() {
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const loop = () => { onFrame(); video.requestVideoFrameCallback(loop); };
    video.requestVideoFrameCallback(loop);
    return;
  }
  // Older engines: a moving currentTime is the best sign of life we get (counts polls, not frames).
  let last = -1;
  setInterval(() => {
    if (!video.paused && video.currentTime !== last) { last = video.currentTime; onFrame(); }
  }, 200);
}

// ---- overlay ----

function overlayState() {
  if (forced) return forced;
  const now = Date.now();
  const fresh = now - stats.lastFrameAt < FRAME_STALE_MS;
  // Only set while there is no session, so it can never hide a working picture.
  if (fatalError) return "error";
  // Frames newer than the last "off air" word are the truth: the picture can come
  // back a moment before the socket says the chair is live again.
  if (fresh && (stats.broadcastLive !== false || stats.lastFrameAt > offAirAt)) return "live";
  if (stats.broadcastLive === false) return "waiting";
  // Sound only: say so, rather than "waiting" over a meeting that can be heard.
  if (!videoExpected && stats.pcState === "connected") return "audio";
  if (stats.pcState === "connected" && now - connectedAt > FIRST_FRAME_GRACE_MS) return "waiting";
  return trouble ? "reconnecting" : "connecting";
}

function render() {
  const state = overlayState();
  const detail = state === "error" ? `${describeError(fatalError)} ${t("tv.retrying")}` : "";
  if (state === stats.state && detail === ui.statusDetail.textContent) return;
  stats.state = state;
  ui.status.dataset.state = state;
  ui.status.hidden = state === "live";
  if (state !== "live") ui.statusText.textContent = t("tv." + state);
  ui.statusDetail.textContent = detail;
  ui.statusDetail.hidden = !detail;
}

// ---- socket ----

function onMessage(msg) {
  if (msg.type === "welcome") {
    ui.commune.textContent = msg.commune || "";
    ui.hallName.textContent = msg.hall?.name || "";
    connection = msg.connection || null;
    const servers = Array.isArray(msg.ice_servers) ? msg.ice_servers : [];
    const changed = JSON.stringify(servers) !== JSON.stringify(iceServers);
    iceServers = servers;
    // The first session may have started before we knew of a TURN server: try again with it.
    if (changed && stats.pcState !== "connected") { attempt = 0; scheduleRejoin(true); }
  } else if (msg.type === "state" && msg.broadcast) {
    const wasLive = stats.broadcastLive;
    stats.broadcastLive = Boolean(msg.broadcast.live);
    if (!stats.broadcastLive) offAirAt = Date.now();
    videoExpected = !stats.broadcastLive || Boolean(msg.broadcast.video_codec);
    // Going live is the moment a waiting screen should try at once, not after its back-off.
    const stuck = retryPending || ["disconnected", "failed", "closed"].includes(stats.pcState);
    if (stats.broadcastLive && wasLive === false && stuck) { attempt = 0; scheduleRejoin(true); }
    render();
  } else if (msg.type === "rejoin") {
    // The bridge cut our session on purpose (new codec): come back at once.
    attempt = 0;
    scheduleRejoin(true);
  }
}

function onSocketStatus(status) {
  stats.socket = status;
  if (status === "closed") {
    socketWasClosed = true;
    stats.broadcastLive = null; // stale until the next snapshot
  } else if (status === "open" && socketWasClosed) {
    socketWasClosed = false;
    // A restarted bridge has forgotten our session; a mere socket blip has not, and
    // tearing down a working picture for it would blank six TVs for nothing.
    const flowing = stats.pcState === "connected" && Date.now() - stats.lastFrameAt < STILL_FLOWING_MS;
    if (!flowing) { attempt = 0; scheduleRejoin(true); }
  }
  render();
}

// ---- housekeeping ----

function tick() {
  const now = new Date();
  const locale = lang === "en" ? "en-GB" : "vi-VN";
  ui.time.textContent = now.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", hour12: false });
  ui.date.textContent = now.toLocaleDateString(locale, { weekday: "long", day: "numeric", month: "numeric", year: "numeric" });
  const sinceFrame = Date.now() - Math.max(stats.lastFrameAt, connectedAt);
  const stalled = stats.broadcastLive && videoExpected && stats.pcState === "connected";
  if (stalled && sinceFrame > STALL_REJOIN_MS) scheduleRejoin();
  render();
}

let wakeLock = null;
async function keepAwake() {
  // The lock is dropped whenever the page is hidden, so take it again on return.
  if (!navigator.wakeLock || document.visibilityState !== "visible" || (wakeLock && !wakeLock.released)) return;
  try { wakeLock = await navigator.wakeLock.request("screen"); } catch { /* not allowed here (e.g. plain http) */ }
}

function isOkKey(ev) {
  return OK_KEYS.has(ev.key) || ev.code === "NumpadEnter" || ev.keyCode === 13 || ev.keyCode === 23;
}

localize();
render();
tick();
setInterval(tick, 1000);
watchFrames();
keepAwake();
document.addEventListener("visibilitychange", keepAwake);
document.addEventListener("keydown", (ev) => {
  if (!stats.soundBlocked || !isOkKey(ev)) return;
  ev.preventDefault();
  enableSound();
});
document.addEventListener("click", enableSound);
addEventListener("pagehide", () => handle?.stop());
openSocket({ key, onMessage, onStatus: onSocketStatus });
startSession();

// For tests and screenshots: force an overlay state (null to release) or a rejoin.
window.hallDebug = {
  force(state) { forced = state; render(); },
  rejoin() { scheduleRejoin(true); },
};
