// The village-hall TV page (also /view): shows the commune room full screen on a box left
// unattended for weeks, so every failure path ends in a fresh WHEP session, never a dead screen.
//
// The page is one state machine: `reduce(state, event)` is pure and takes every socket
// message, track event and timer tick; `render(state)` draws; `effects(prev, next)` does
// the I/O the change asks for. What the TV says comes from the bridge's state messages and
// this page's own track events, never from how old the last frame is.

import { pageParams, watchWhep, openSocket, backoffDelay, readLinkStats } from "./protocol.js";
import { t, lang, describeError, localize } from "./i18n.js";

// ICE often recovers from a short blip by itself; the bridge has no ICE restart.
const DISCONNECT_GRACE_MS = 5000;
// Live, connected, yet no picture for this long: the bridge lost track of us; start over.
const STALL_REJOIN_MS = 20000;
const REPORT_EVERY_MS = 2000;
// Answers that mean this screen cannot watch until someone fixes something; we still retry.
const FATAL_STATUS = new Set([400, 401, 403, 406, 415]);
const OK_KEYS = new Set(["Enter", " ", "NumpadEnter", "Select"]);
const LOG_LENGTH = 50;

// ---- the state machine (pure) ----

export const initialState = Object.freeze({
  socket: "connecting", // connecting | open | closed
  instance: null, // welcome.instance of the bridge run we last spoke to
  connection: null, // our socket's id: lets the bridge address this page
  iceServers: [], // STUN/TURN from the bridge's config, via welcome
  mayReport: false, // this key reports what the TV shows (a hall key)
  broadcast: null, // {live, video, audio, since} from the last state message; null: none yet
  // Each new `gen` drops the current WHEP session and makes a new one; `wait` is the
  // back-off step to wait first (null: at once).
  session: { gen: 1, wait: null },
  attempt: 0, // back-off steps since the last good picture
  sessions: 0, // sessions that came up, for tests and a technician
  pc: "none", // the WHEP pc's connectionState; "none" while there is no session
  pcSince: 0,
  video: "none", // the received video track: none | muted | live | ended
  audio: "none",
  frames: 0,
  lastFrameAt: 0,
  // A frame was rendered since this broadcast (or this session) began: only then is
  // the picture on screen the chair's current one, not a stale frame from before.
  fresh: false,
  trouble: false, // something broke since the last good picture: "reconnecting", not "connecting"
  fatal: null, // {status, code} of a refusal, while there is no working session
  soundBlocked: false,
  forced: null,
});

function rejoin(s, immediate) {
  return {
    ...s,
    session: { gen: s.session.gen + 1, wait: immediate ? null : s.attempt },
    attempt: immediate ? 0 : s.attempt + 1,
    pc: "none", video: "none", audio: "none", fresh: false, trouble: true,
  };
}

function onMessage(s, msg) {
  switch (msg.type) {
    case "welcome": {
      const servers = Array.isArray(msg.ice_servers) ? msg.ice_servers : [];
      let next = {
        ...s, connection: msg.connection || null, iceServers: servers,
        instance: msg.instance || null,
        mayReport: Array.isArray(msg.permissions) && msg.permissions.includes("report_screen"),
      };
      // A new instance is a restarted bridge: it has forgotten our session. The same
      // instance after a socket blip still serves it, and tearing down a working picture
      // would blank every TV for nothing.
      if (s.instance !== null && msg.instance !== s.instance) return rejoin(next, true);
      // The first session may have started before we knew of a TURN server.
      const changed = JSON.stringify(servers) !== JSON.stringify(s.iceServers);
      if (changed && s.pc !== "connected") next = rejoin(next, true);
      return next;
    }
    case "state": {
      if (!msg.broadcast) return s;
      const b = msg.broadcast;
      const broadcast = { live: Boolean(b.live), video: b.video_codec || null, audio: b.audio_codec || null, since: b.since ?? null };
      const before = s.broadcast;
      // A new broadcast (even one whose "off air" we never saw) makes earlier frames stale.
      const renewed = !broadcast.live || !before || !before.live || before.since !== broadcast.since;
      let next = { ...s, broadcast, fresh: renewed ? false : s.fresh };
      // Going live is the moment a waiting screen should try at once, not after its back-off.
      const stuck = s.session.wait !== null || ["disconnected", "failed", "closed"].includes(s.pc);
      if (broadcast.live && before && !before.live && stuck) next = rejoin(next, true);
      return next;
    }
    case "rejoin": // the bridge cut our session on purpose (new codec): come back at once
      return rejoin(s, true);
    case "ice-servers": // fresh TURN credentials, for the next session we make
      return Array.isArray(msg.ice_servers) ? { ...s, iceServers: msg.ice_servers } : s;
    default:
      return s;
  }
}

function onTick(s, at) {
  if (s.pc === "disconnected" && at - s.pcSince > DISCONNECT_GRACE_MS) return rejoin(s, false);
  const expectPicture = s.broadcast?.live && s.broadcast.video && s.pc === "connected";
  if (expectPicture && at - Math.max(s.lastFrameAt, s.pcSince) > STALL_REJOIN_MS) return rejoin(s, false);
  return s;
}

/** The next state after `event`. Pure: no DOM, no clock (events carry `at`), no I/O. */
export function reduce(s, event) {
  const current = event.gen === undefined || event.gen === s.session.gen;
  switch (event.type) {
    case "socket":
      return { ...s, socket: event.status };
    case "message":
      return onMessage(s, event.msg);
    case "session-up":
      if (!current) return s;
      return {
        ...s, sessions: s.sessions + 1, fatal: null, session: { ...s.session, wait: null },
        pc: event.pc, pcSince: event.at, video: event.video, audio: event.audio,
      };
    case "session-failed":
      if (!current) return s;
      return rejoin({ ...s, fatal: FATAL_STATUS.has(event.status) ? { status: event.status, code: event.code } : null }, false);
    case "pc":
      if (!current || event.state === s.pc) return s;
      if (event.state === "failed") return rejoin(s, false);
      return { ...s, pc: event.state, pcSince: event.at, trouble: s.trouble || event.state === "disconnected" };
    case "track":
      if (!current) return s;
      return { ...s, [event.kind]: event.state, trouble: s.trouble || event.state !== "live" };
    case "frame":
      return {
        ...s, frames: s.frames + 1, lastFrameAt: event.at, video: "live",
        fresh: s.broadcast?.live !== false, trouble: false, attempt: 0,
      };
    case "tick":
      return onTick(s, event.at);
    case "sound-blocked":
      return { ...s, soundBlocked: true };
    case "sound-enabled":
      return { ...s, soundBlocked: false };
    case "force":
      return { ...s, forced: event.state };
    case "rejoin":
      return rejoin(s, true);
    default:
      return s;
  }
}

/** What the TV says, named as tests and people name it. */
export function view(s) {
  if (s.forced) return s.forced;
  // Only set while there is no working session, so it can never hide a picture.
  if (s.fatal && s.pc !== "connected") return "error";
  // Without the socket we do not know what the bridge is doing; the last snapshot is kept
  // only to tell a new broadcast from the same one when the socket comes back.
  const b = s.socket === "open" ? s.broadcast : null;
  if (b && !b.live) return "waiting";
  const waitingForIt = s.trouble ? "reconnecting" : "connecting";
  if (s.pc !== "connected") return waitingForIt;
  const picture = s.fresh && s.video === "live";
  // Sound only: say so, rather than "waiting" over a meeting that can be heard.
  if (b && !b.video) return s.audio === "live" || s.audio === "muted" ? "audio" : waitingForIt;
  return picture ? "live" : waitingForIt;
}

// ---- the page ----

const { key, hall } = pageParams();
const $ = (id) => document.getElementById(id);
const video = $("video");
const ui = {
  status: $("status"), statusText: $("status-text"), statusDetail: $("status-detail"),
  prompt: $("sound-prompt"), commune: $("commune"), hallName: $("hall-name"),
  time: $("clock-time"), date: $("clock-date"),
};

let state = initialState;
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
  Object.assign(stats, {
    state: name, framesRendered: s.frames, lastFrameAt: s.lastFrameAt, sessions: s.sessions,
    pcState: s.pc, socket: s.socket,
    broadcastLive: s.broadcast && s.socket === "open" ? s.broadcast.live : null,
    videoCodec: s.broadcast?.video ?? null, audioCodec: s.broadcast?.audio ?? null,
    soundBlocked: s.soundBlocked, audioTracks: s.audio === "none" ? 0 : 1, trouble: s.trouble,
  });
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
  if (prev.soundBlocked && !next.soundBlocked) play();
}

function stopSession() {
  clearTimeout(startTimer);
  abort?.abort();
  abort = null;
  handle?.stop();
  handle = null;
}

async function startSession(gen) {
  const tracks = [];
  abort = new AbortController();
  try {
    const h = await watchWhep({
      key, iceServers: state.iceServers, connection: state.connection, signal: abort.signal,
      onTrack: (track) => tracks.push(track),
      onState: (pcState) => dispatch({ type: "pc", gen, state: pcState }),
    });
    if (gen !== running) { h.stop(); return; }
    handle = h;
    for (const track of tracks) watchTrack(track, gen);
    const kinds = Object.fromEntries(tracks.map((tr) => [tr.kind, tr.muted ? "muted" : "live"]));
    dispatch({ type: "session-up", gen, pc: h.state, video: kinds.video || "none", audio: kinds.audio || "none" });
    attach(new MediaStream(tracks));
  } catch (err) {
    if (gen === running) dispatch({ type: "session-failed", gen, status: err.status, code: err.code });
  }
}

function watchTrack(track, gen) {
  const kind = track.kind;
  track.addEventListener("mute", () => dispatch({ type: "track", gen, kind, state: "muted" }));
  track.addEventListener("unmute", () => dispatch({ type: "track", gen, kind, state: "live" }));
  track.addEventListener("ended", () => dispatch({ type: "track", gen, kind, state: "ended" }));
}

function attach(stream) {
  video.srcObject = stream;
  play();
}

async function play() {
  video.muted = state.soundBlocked;
  try {
    await video.play();
  } catch (err) {
    // AbortError just means a newer session replaced the source mid-play.
    if (err.name !== "NotAllowedError") return;
    // The picture matters more than the sound: play muted and ask for one key press.
    video.muted = true;
    dispatch({ type: "sound-blocked" });
    video.play().catch(() => {});
  }
}

function watchFrames() {
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const loop = () => { dispatch({ type: "frame" }); video.requestVideoFrameCallback(loop); };
    video.requestVideoFrameCallback(loop);
    return;
  }
  // Older engines: a moving currentTime is the best sign of a new frame we get.
  let last = -1;
  setInterval(() => {
    if (!video.paused && video.currentTime !== last) { last = video.currentTime; dispatch({ type: "frame" }); }
  }, 200);
}

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

function isOkKey(ev) {
  return OK_KEYS.has(ev.key) || ev.code === "NumpadEnter" || ev.keyCode === 13 || ev.keyCode === 23;
}

function enableSound() {
  if (state.soundBlocked) dispatch({ type: "sound-enabled" });
}

localize();
render(state);
clock();
setInterval(() => { clock(); dispatch({ type: "tick" }); }, 1000);
setInterval(report, REPORT_EVERY_MS);
watchFrames();
keepAwake();
document.addEventListener("visibilitychange", keepAwake);
document.addEventListener("keydown", (ev) => {
  if (!state.soundBlocked || !isOkKey(ev)) return;
  ev.preventDefault();
  enableSound();
});
document.addEventListener("click", enableSound);
addEventListener("pagehide", () => handle?.stop());
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
