// The chair console: choose camera and microphone, broadcast them to the village halls,
// keep the broadcast up through network trouble, show each hall's camera and what its TV
// really shows, and run the meeting: the raised hands, the floor, the timer.

import { pageParams, publishWhip, openSocket, backoffDelay } from "./protocol.js";
import { t, describeError, localize } from "./i18n.js";
import { createGrid } from "./chair-grid.js";
import { createSlides } from "./chair-slides.js";
import { initialRecording, reduceRecording, renderRecordingPanel } from "./recording.js";
import { initialFloor, reduceFloor, floorView, shortcut, waiting, beep } from "./chair-floor.js";
import { mountSchedulePanel, createStartOffer } from "./schedule-panel.js";

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
let generationAtSocketLoss = 0; // the publish that was on when the socket went away
let connection = null; // our socket's id, from welcome
let iceServers = []; // STUN/TURN from the bridge's config, via welcome
let instance = null; // welcome.instance: a new one means the bridge restarted

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
    chairStats.publishes += 1;
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

// ---- halls, the floor and server state ----

const grid = createGrid({ list: ui.halls, audio: $("floor-audio"), key });
let floorState = initialFloor;
const floorUi = floorView({
  meetingState: $("meeting-state"), meetingOpen: $("meeting-open"), meetingClose: $("meeting-close"),
  floor: $("floor"), floorEmpty: $("floor-empty"), floorNow: $("floor-now"), floorHall: $("floor-hall"),
  floorName: $("floor-name"), floorTopic: $("floor-topic"), floorConsent: $("floor-consent"),
  timer: $("floor-timer"), mute: $("floor-mute"), queue: $("queue"), queueEmpty: $("queue-empty"),
  cue: $("cue"), error: $("floor-error"),
}, {
  // The socket exists by the time anyone can press a button.
  grant: (entry) => socket.grant(entry), move: (entry, position) => socket.move(entry, position),
  withdraw: (entry) => socket.withdraw(entry), edit: (entry, fields) => socket.edit(entry, fields),
}, floorEvent);
/** Read by tests: the floor as this console sees it, and the streams the bridge took. */
const chairStats = { grid: grid.stats, publishes: 0 };
window.chairStats = chairStats;

function floorEvent(event) {
  const prev = floorState;
  floorState = reduceFloor(prev, { at: Date.now(), ...event });
  if (floorState === prev) return;
  if (floorState.cues > prev.cues) beep();
  Object.assign(chairStats, {
    cues: floorState.cues, floorHall: floorState.floor?.hall ?? null, meeting: floorState.meeting?.id ?? null,
    queue: waiting(floorState).map((e) => e.id),
  });
  floorUi.render(floorState);
}

function floorMarks(s) {
  return {
    hall: s.floor?.hall ?? null, muted: new Set(s.muted),
    raised: new Set(waiting(s).map((e) => e.hall)),
  };
}

let recording = initialRecording;
const recUi = { start: $("rec-start"), stop: $("rec-stop"), notice: $("recording"), problem: $("rec-problem") };

function onMessage(msg) {
  recording = reduceRecording(recording, msg, Date.now());
  renderRecordingPanel(recUi, recording, Boolean(msg.type === "state" ? msg.meeting : floorState.meeting));
  if (msg.type === "welcome") {
    ui.commune.textContent = msg.commune ? "· " + msg.commune : "";
    const restarted = instance !== null && msg.instance !== instance;
    instance = msg.instance || null;
    connection = msg.connection || null;
    iceServers = Array.isArray(msg.ice_servers) ? msg.ice_servers : [];
    grid.connect(iceServers, connection, msg.halls);
    // A restarted bridge has forgotten the grid's session.
    if (restarted) grid.rejoin();
  } else if (msg.type === "ice-servers") {
    // Fresh TURN credentials: the next broadcast attempt uses them.
    if (Array.isArray(msg.ice_servers)) iceServers = msg.ice_servers;
  } else if (msg.type === "replaced") {
    // Another chair device took over. Retrying would take it back and the two would
    // fight forever, so stop and say so; pressing Start takes it back on purpose.
    if (wantLive) stopBroadcast(t("chair.replaced"));
  } else if (msg.type === "rejoin") {
    grid.rejoin();
  } else if (msg.type === "error") {
    floorEvent({ type: "error", msg });
  } else if (msg.type === "state") {
    floorEvent({ type: "state", msg });
    startOffer.update(msg);
    grid.render(msg.halls, floorMarks(floorState));
    // The first snapshot after the socket came back tells whether the bridge restarted
    // under us: then it no longer has our stream, though our pc may not have noticed yet.
    // Unless we published again meanwhile (our pc noticed first): the snapshot may predate
    // that stream, and a second publish would only replace it.
    if (verifyAfterReconnect) {
      verifyAfterReconnect = false;
      const samePublish = generation === generationAtSocketLoss;
      if (wantLive && phase === "live" && samePublish && msg.broadcast && !msg.broadcast.live) {
        retry();
      }
    }
  }
}

function onSocketStatus(status) {
  ui.socket.dataset.state = status;
  ui.socket.textContent = t("socket." + status);
  if (status === "closed" && !socketWasClosed) {
    socketWasClosed = true;
    generationAtSocketLoss = generation;
  }
  if (status === "open" && socketWasClosed) {
    socketWasClosed = false;
    verifyAfterReconnect = true;
  }
}

// ---- wiring ----

localize();
setPhase("off");
createSlides({
  share: $("share"), unshare: $("unshare"), showError,
  context: () => ({ key, connection, iceServers }),
});
ui.start.addEventListener("click", () => {
  // Going on air opens a meeting by itself; at a planned meeting's time, open that one,
  // so its title and agenda reach the log rather than an untitled meeting.
  const planned = startOffer.pending();
  if (planned) socket.openMeeting(planned.title, planned.agenda);
  startBroadcast();
});
ui.stop.addEventListener("click", () => stopBroadcast());
ui.camera.addEventListener("change", () => switchDevice("video"));
ui.microphone.addEventListener("change", () => switchDevice("audio"));
navigator.mediaDevices?.addEventListener("devicechange", () => { if (stream) listDevices(); });
addEventListener("pagehide", () => { handle?.stop(); grid.stop(); });
const socket = openSocket({ key, onMessage, onStatus: onSocketStatus });
// A browser may hold back sound until the first click: the speaking hall must be heard.
document.addEventListener("click", () => {
  const audio = $("floor-audio");
  if (audio.srcObject && audio.paused) audio.play().catch(() => {});
});
$("meeting-open").addEventListener("click", () => socket.openMeeting());
// A planned meeting's time has come: one press opens it with its title and agenda.
const startOffer = createStartOffer({
  box: $("start-offer"), title: $("start-title"), when: $("start-when"), button: $("start-meeting"),
}, (title, agenda) => socket.openMeeting(title, agenda));
mountSchedulePanel($("schedule-panel"), { key });
$("meeting-close").addEventListener("click", () => socket.closeMeeting());
recUi.start.addEventListener("click", () => socket.recordStart());
recUi.stop.addEventListener("click", () => socket.recordStop());
$("floor-end").addEventListener("click", () => socket.endFloor());
$("floor-extend").addEventListener("click", () => socket.extend(60));
$("floor-mute").addEventListener("click", () => {
  const floor = floorState.floor;
  if (floor) socket.mute(floor.hall, !floor.muted);
});
document.addEventListener("keydown", (ev) => {
  const command = shortcut(floorState, ev);
  if (!command) return;
  ev.preventDefault();
  if (command.type === "grant") socket.grant(command.entry);
  else socket.endFloor();
});
setInterval(() => { floorEvent({ type: "tick" }); floorUi.tick(floorState); }, 1000);
openMedia(["video", "audio"]).catch((err) => showError(describeError(err)));
