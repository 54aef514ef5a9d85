// The chair console: choose camera and microphone, broadcast them to the village halls,
// keep the broadcast up through network trouble, and show what each hall's TV really shows.

import { pageParams, publishWhip, openSocket, backoffDelay } from "./protocol.js";
import { t, describeError, localize } from "./i18n.js";

const { key } = pageParams();
const $ = (id) => document.getElementById(id);
const ui = {
  preview: $("preview"), camera: $("camera"), microphone: $("microphone"),
  start: $("start"), stop: $("stop"), error: $("error"), live: $("live"),
  liveText: $("live-text"), halls: $("halls"), socket: $("socket"), commune: $("commune"),
};
// Errors that retrying cannot fix: the chair has to read them and act.
const FATAL_STATUS = new Set([400, 401, 403, 406, 415]);
const DISCONNECT_GRACE_MS = 5000;

let stream = null;
let handle = null;
let abort = null;
let wantLive = false;
let phase = "off"; // off | starting | live | reconnecting
let generation = 0; // bumps on every stop, so late answers from an old attempt are ignored
let attempt = 0;
let retryTimer = null;
let disconnectTimer = null;
let socketWasClosed = false;
let verifyAfterReconnect = false;
let connection = null; // our socket's id, from welcome
let iceServers = []; // STUN/TURN from the bridge's config, via welcome

function setPhase(next) {
  phase = next;
  ui.live.dataset.state = next;
  ui.liveText.textContent = t("live." + next);
  ui.start.hidden = wantLive;
  ui.stop.hidden = !wantLive;
  document.body.dataset.phase = next;
}

function showError(text) {
  ui.error.textContent = text;
  ui.error.hidden = !text;
}

// ---- camera and microphone ----

function constraints(kind) {
  const id = (kind === "video" ? ui.camera : ui.microphone).value;
  const device = id ? { deviceId: { exact: id } } : {};
  if (kind === "audio") return id ? device : true;
  return { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 }, ...device };
}

/** (Re)open the given kinds of device, keeping the other kind's track as it is. */
async function openMedia(kinds) {
  if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error("insecure"), { name: "insecure" });
  const fresh = await navigator.mediaDevices.getUserMedia({
    video: kinds.includes("video") ? constraints("video") : false,
    audio: kinds.includes("audio") ? constraints("audio") : false,
  });
  const kept = stream ? stream.getTracks().filter((tr) => !kinds.includes(tr.kind)) : [];
  const dropped = stream ? stream.getTracks().filter((tr) => kinds.includes(tr.kind)) : [];
  stream = new MediaStream([...fresh.getTracks(), ...kept]);
  ui.preview.srcObject = stream;
  if (handle) for (const track of fresh.getTracks()) await handle.replaceTrack(track);
  dropped.forEach((tr) => tr.stop());
  await listDevices();
}

// Labels are empty until the first getUserMedia succeeds, hence the call order.
async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [select, kind] of [[ui.camera, "videoinput"], [ui.microphone, "audioinput"]]) {
    const current = stream?.getTracks().find((tr) => kind.startsWith(tr.kind))?.getSettings().deviceId;
    const options = devices.filter((d) => d.kind === kind).map((d, i) => {
      const opt = new Option(d.label || t("chair.device", { n: i + 1 }), d.deviceId);
      opt.selected = d.deviceId === current;
      return opt;
    });
    select.replaceChildren(...options);
  }
}

async function switchDevice(kind) {
  try {
    await openMedia([kind]);
    if (phase !== "reconnecting") showError("");
  } catch (err) {
    showError(describeError(err));
  }
}

// ---- publishing ----

async function publish() {
  const gen = generation;
  if (!stream) {
    try {
      await openMedia(["video", "audio"]);
    } catch (err) {
      if (gen === generation) stopBroadcast(describeError(err));
      return;
    }
  }
  abort = new AbortController();
  try {
    const h = await publishWhip({
      key, stream, connection, iceServers, signal: abort.signal,
      onState: (state) => { if (gen === generation) onPcState(state); },
    });
    if (gen !== generation) { h.stop(); return; }
    handle = h;
    if (h.state === "connected") onPcState("connected");
  } catch (err) {
    if (gen !== generation) return;
    if (FATAL_STATUS.has(err.status)) stopBroadcast(describeError(err));
    else { showError(describeError(err)); retry(); }
  }
}

function onPcState(state) {
  clearTimeout(disconnectTimer);
  if (state === "connected") {
    attempt = 0;
    showError("");
    setPhase("live");
  } else if (state === "disconnected") {
    // ICE often recovers from a short blip on its own; the bridge cannot restart ICE,
    // so only a longer outage is worth a fresh publish.
    setPhase("reconnecting");
    disconnectTimer = setTimeout(retry, DISCONNECT_GRACE_MS);
  } else if (state === "failed") {
    retry();
  }
}

function dropSession() {
  generation++;
  clearTimeout(retryTimer);
  clearTimeout(disconnectTimer);
  abort?.abort();
  handle?.stop();
  handle = null;
}

function retry() {
  dropSession();
  if (!wantLive) return;
  setPhase("reconnecting");
  retryTimer = setTimeout(publish, backoffDelay(attempt++));
}

function startBroadcast() {
  wantLive = true;
  attempt = 0;
  showError("");
  setPhase("starting");
  publish();
}

function stopBroadcast(errorText = "") {
  wantLive = false;
  dropSession();
  setPhase("off");
  showError(errorText);
}

// ---- halls and server state ----

// Loss and round-trip above these make a hall's link "fair", then "poor".
const LINK_LIMITS = { fair: { loss: 0.02, rtt: 150 }, poor: { loss: 0.05, rtt: 400 } };

/** What the badge says: "watching" only while the hall's TV really shows new pictures. */
function badgeKey(hall) {
  if (hall.state !== "watching") return ["offline", "connected", "lost"].includes(hall.state) ? "hall." + hall.state : null;
  const screen = hall.screen || {};
  if (screen.picture === "moving") return "hall.watching";
  if (screen.picture === "none") return screen.sound === "audible" ? "screen.listening" : "screen.silent";
  if (["frozen", "starting", "off-air"].includes(screen.picture)) return "screen." + screen.picture;
  return "screen.unknown";
}

function linkQuality(link) {
  const rtt = link.rtt_ms ?? 0;
  if (link.loss >= LINK_LIMITS.poor.loss || rtt >= LINK_LIMITS.poor.rtt) return "poor";
  if (link.loss >= LINK_LIMITS.fair.loss || rtt >= LINK_LIMITS.fair.rtt) return "fair";
  return "good";
}

function linkLine(link, rendition) {
  const figures = document.createElement("div");
  figures.className = "link";
  const quality = linkQuality(link);
  figures.dataset.quality = quality;
  const bar = document.createElement("span");
  bar.className = "link-bar";
  bar.title = t("link." + quality);
  bar.setAttribute("aria-label", t("link." + quality));
  const text = document.createElement("span");
  text.className = "link-figures";
  // Which of the camera's two streams the bridge sends this hall (docs/protocol.md).
  const parts = [
    rendition ? t("rendition." + rendition) : null,
    t("link.fps", { fps: link.fps.toFixed(0) }),
    link.width && link.height ? `${link.width}×${link.height}` : null,
    t("link.loss", { loss: (link.loss * 100).toFixed(1) }),
    t("link.jitter", { ms: link.jitter_ms.toFixed(0) }),
    link.rtt_ms === null ? null : t("link.rtt", { ms: link.rtt_ms.toFixed(0) }),
    t("link.rate", { mbps: (link.bitrate_kbps / 1000).toFixed(2) }),
    t("link.level", { level: Math.round(link.audio_level * 100) }),
  ];
  text.textContent = parts.filter(Boolean).join(" · ");
  figures.append(bar, text);
  return figures;
}

function renderHalls(halls) {
  if (!Array.isArray(halls) || halls.length === 0) return;
  ui.halls.replaceChildren(...halls.map((hall) => {
    const li = document.createElement("li");
    const screen = hall.screen || {};
    li.dataset.hall = hall.id;
    li.dataset.state = hall.state;
    li.dataset.picture = screen.picture || "unknown";
    li.dataset.sound = screen.sound || "unknown";
    li.dataset.rendition = hall.rendition || "";
    const head = document.createElement("div");
    head.className = "hall-head";
    const name = document.createElement("span");
    name.className = "hall-name";
    name.textContent = hall.name || hall.id;
    const badge = document.createElement("span");
    badge.className = "badge";
    const key = badgeKey(hall);
    badge.dataset.says = key || "";
    badge.textContent = key ? t(key) : String(hall.state);
    head.append(name, badge);
    li.append(head);
    const warnings = hall.state === "watching"
      ? [screen.picture === "frozen" && "warn.frozen", screen.sound === "silent" && "warn.silent"].filter(Boolean)
      : [];
    for (const warning of warnings) {
      const p = document.createElement("p");
      p.className = "warning";
      p.dataset.warning = warning.slice(5);
      p.setAttribute("role", "alert");
      p.textContent = t(warning);
      li.append(p);
    }
    if (hall.state === "watching" && screen.link) li.append(linkLine(screen.link, hall.rendition));
    return li;
  }));
}

function onMessage(msg) {
  if (msg.type === "welcome") {
    ui.commune.textContent = msg.commune ? "· " + msg.commune : "";
    connection = msg.connection || null;
    iceServers = Array.isArray(msg.ice_servers) ? msg.ice_servers : [];
  } else if (msg.type === "ice-servers") {
    // Fresh TURN credentials: the next broadcast attempt uses them.
    if (Array.isArray(msg.ice_servers)) iceServers = msg.ice_servers;
  } else if (msg.type === "replaced") {
    // Another chair device took over. Retrying would take it back and the two would
    // fight forever, so stop and say so; pressing Start takes it back on purpose.
    if (wantLive) stopBroadcast(t("chair.replaced"));
  } else if (msg.type === "state") {
    renderHalls(msg.halls);
    // The first snapshot after the socket came back tells whether the bridge restarted
    // under us: then it no longer has our stream, though our pc may not have noticed yet.
    if (verifyAfterReconnect) {
      verifyAfterReconnect = false;
      if (wantLive && phase === "live" && msg.broadcast && !msg.broadcast.live) retry();
    }
  }
}

function onSocketStatus(status) {
  ui.socket.dataset.state = status;
  ui.socket.textContent = t("socket." + status);
  if (status === "closed") socketWasClosed = true;
  if (status === "open" && socketWasClosed) verifyAfterReconnect = true;
}

// ---- wiring ----

localize();
setPhase("off");
ui.start.addEventListener("click", startBroadcast);
ui.stop.addEventListener("click", () => stopBroadcast());
ui.camera.addEventListener("change", () => switchDevice("video"));
ui.microphone.addEventListener("change", () => switchDevice("audio"));
navigator.mediaDevices?.addEventListener("devicechange", () => { if (stream) listDevices(); });
addEventListener("pagehide", () => handle?.stop());
openSocket({ key, onMessage, onStatus: onSocketStatus });
openMedia(["video", "audio"]).catch((err) => showError(describeError(err)));
