// The TV page's state machine (hall.js draws it and does its I/O). Pure: every socket
// message, track event, key press and timer tick comes in as an event with `at`, and the
// next state comes out. What the TV says is named by `view`, its picture layout by `layoutOf`.

import { readFloor, waitingEntries } from "./floor.js";
import { initialRecording, reduceRecording } from "./recording.js";

// ICE often recovers from a short blip by itself; the bridge has no ICE restart.
const DISCONNECT_GRACE_MS = 5000;
// Live, connected, yet no picture for this long: the bridge lost track of us; start over.
const STALL_REJOIN_MS = 20000;
// Answers that mean this screen cannot watch until someone fixes something; we still retry.
const FATAL_STATUS = new Set([400, 401, 403, 406, 415]);
// How long an error from the bridge stays on screen.
const NOTICE_MS = 6000;

export const initialState = Object.freeze({
  layout: "program", // the WHEP layout this page watches: "program" (/view) or "hall"
  socket: "connecting", // connecting | open | closed
  instance: null, // welcome.instance of the bridge run we last spoke to
  connection: null, // our socket's id: lets the bridge address this page
  iceServers: [], // STUN/TURN from the bridge's config, via welcome
  mayReport: false, // this key reports what the TV shows (a hall key)
  ownHall: null, // welcome.hall.id: the hall this TV stands in; null on /view
  mayRaise: false, // the key has the `raise_hand` permission: the floor buttons show
  broadcast: null, // {live, video, audio, since} from the last state message; null: none yet
  // Each new `gen` drops the current WHEP session and makes a new one; `wait` is the
  // back-off step to wait first (null: at once).
  session: { gen: 1, wait: null },
  attempt: 0, // back-off steps since the last good picture
  sessions: 0, // sessions that came up, for tests and a technician
  pc: "none", // the WHEP pc's connectionState; "none" while there is no session
  pcSince: 0,
  video: "none", // the chair's (or the program's) video track: none | muted | live | ended
  audio: "none",
  floorVideo: "none", // the speaking hall's tracks (hall layout only)
  floorAudio: "none",
  slidesVideo: "none", // the chair's shared screen (hall layout only)
  slides: false, // the chair shares a screen now (state message)
  frames: 0,
  floorFrames: 0,
  lastFrameAt: 0,
  // A frame was rendered since this broadcast (or this session) began: only then is
  // the picture on screen the chair's current one, not a stale frame from before.
  fresh: false,
  trouble: false, // something broke since the last good picture: "reconnecting", not "connecting"
  fatal: null, // {status, code} of a refusal, while there is no working session
  soundBlocked: false,
  forced: null,
  // The hall's own camera and microphone, published from the start (hall layout only).
  // A new `gen` drops the WHIP session and makes a new one after `wait` back-off steps;
  // gen 0: not publishing (yet); `stopped`: never again (another TV of this hall took over).
  pub: { gen: 0, wait: null, stopped: false },
  pubAttempt: 0,
  pubPc: "none",
  pubPcSince: 0,
  pubError: null, // the code of the last failure, while not live
  // The meeting, from the bridge's state messages (docs/protocol.md).
  meeting: null,
  queue: [],
  floor: null,
  muted: [],
  offset: 0, // bridge clock minus ours, seconds
  dialog: null, // null | "consent" | "details"
  consentAsked: null, // the floor entry we last asked about: ask once per grant
  notice: null, // {code, message, until}: an error the bridge answered, shown briefly
  nextMeeting: null, // {id, title, starts_at, agenda, due} planned next, from the state messages
  rec: initialRecording, // whether the meeting is recorded, and starts to announce
});

function rejoin(s, immediate) {
  return {
    ...s,
    session: { gen: s.session.gen + 1, wait: immediate ? null : s.attempt },
    attempt: immediate ? 0 : s.attempt + 1,
    pc: "none", video: "none", audio: "none", floorVideo: "none", floorAudio: "none", slidesVideo: "none",
    fresh: false, trouble: true,
  };
}

function republish(s, immediate) {
  if (s.pub.stopped || s.layout !== "hall") return s;
  return {
    ...s,
    pub: { gen: s.pub.gen + 1, wait: immediate ? null : s.pubAttempt, stopped: false },
    pubAttempt: immediate ? 0 : s.pubAttempt + 1,
    pubPc: "none",
  };
}

function onWelcome(s, msg) {
  const servers = Array.isArray(msg.ice_servers) ? msg.ice_servers : [];
  let next = {
    ...s, connection: msg.connection || null, iceServers: servers,
    instance: msg.instance || null, ownHall: msg.hall?.id ?? null,
    mayReport: Array.isArray(msg.permissions) && msg.permissions.includes("report_screen"),
    mayRaise: Array.isArray(msg.permissions) && msg.permissions.includes("raise_hand"),
  };
  // A new instance is a restarted bridge: it has forgotten our sessions. The same
  // instance after a socket blip still serves them, and tearing down a working picture
  // would blank every TV for nothing.
  if (s.instance !== null && msg.instance !== s.instance) return republish(rejoin(next, true), true);
  // The first session may have started before we knew of a TURN server.
  const changed = JSON.stringify(servers) !== JSON.stringify(s.iceServers);
  if (changed && s.pc !== "connected") next = rejoin(next, true);
  // Publishing waits for the welcome, so the bridge can tell this very page when another
  // TV with the same link takes its camera over.
  if (next.pub.gen === 0 || (changed && next.pubPc !== "connected")) next = republish(next, true);
  return next;
}

function onState(s, msg, at) {
  let next = { ...s, ...readFloor(msg, at), slides: msg.slides === true, rec: reduceRecording(s.rec, msg, at) };
  if ("next_meeting" in msg) next.nextMeeting = msg.next_meeting || null;
  const floor = next.floor;
  const mine = floor && s.ownHall !== null && floor.hall === s.ownHall;
  const entryId = floor?.entry?.id ?? null;
  if (mine && floor.consent === null && s.consentAsked !== entryId) {
    next = { ...next, dialog: "consent", consentAsked: entryId };
  } else if (s.dialog === "consent" && (!mine || floor.consent !== null)) {
    next = { ...next, dialog: null }; // answered elsewhere, or the floor moved on
  }
  if (!msg.broadcast) return next;
  const b = msg.broadcast;
  const broadcast = { live: Boolean(b.live), video: b.video_codec || null, audio: b.audio_codec || null, since: b.since ?? null };
  const before = s.broadcast;
  // A new broadcast (even one whose "off air" we never saw) makes earlier frames stale.
  const renewed = !broadcast.live || !before || !before.live || before.since !== broadcast.since;
  next = { ...next, broadcast, fresh: renewed ? false : s.fresh };
  // Going live is the moment a waiting screen should try at once, not after its back-off.
  const stuck = s.session.wait !== null || ["disconnected", "failed", "closed"].includes(s.pc);
  if (broadcast.live && before && !before.live && stuck) next = rejoin(next, true);
  return next;
}

function onMessage(s, msg, at) {
  switch (msg.type) {
    case "welcome":
      return onWelcome(s, msg);
    case "state":
      return onState(s, msg, at);
    case "rejoin": // the bridge cut our session on purpose (new codec): come back at once
      return rejoin(s, true);
    case "replaced": // another TV with this hall's link publishes now: leave it the camera
      return { ...s, pub: { gen: s.pub.gen + 1, wait: null, stopped: true }, pubPc: "none" };
    case "ice-servers": // fresh TURN credentials, for the next session we make
      return Array.isArray(msg.ice_servers) ? { ...s, iceServers: msg.ice_servers } : s;
    case "error":
      return { ...s, notice: { code: String(msg.code || ""), message: String(msg.message || ""), until: at + NOTICE_MS } };
    default:
      return s;
  }
}

function onTick(s, at) {
  let next = s.notice && at > s.notice.until ? { ...s, notice: null } : s;
  if (next.pubPc === "disconnected" && at - next.pubPcSince > DISCONNECT_GRACE_MS) next = republish(next, false);
  if (next.pc === "disconnected" && at - next.pcSince > DISCONNECT_GRACE_MS) return rejoin(next, false);
  const expectPicture = next.broadcast?.live && next.broadcast.video && next.pc === "connected";
  if (expectPicture && at - Math.max(next.lastFrameAt, next.pcSince) > STALL_REJOIN_MS) return rejoin(next, false);
  return next;
}

function onPublisher(s, event) {
  if (event.gen !== s.pub.gen || s.pub.stopped) return s;
  switch (event.type) {
    case "pub-up":
      return { ...s, pub: { ...s.pub, wait: null }, pubPc: event.pc, pubPcSince: event.at, pubError: null };
    case "pub-pc":
      if (event.state === s.pubPc) return s;
      if (event.state === "failed") return republish(s, false);
      if (event.state === "connected") return { ...s, pubPc: "connected", pubPcSince: event.at, pubAttempt: 0, pubError: null };
      return { ...s, pubPc: event.state, pubPcSince: event.at };
    case "pub-failed": // refused, unreachable or no camera: the TV keeps trying, as it does to watch
      return { ...republish(s, false), pubError: event.code || "other" };
    default:
      return s;
  }
}

// What the remote's buttons do to the state; hall.js sends the matching command.
function onUi(s, event) {
  switch (event.action) {
    case "details":
      return { ...s, dialog: "details" };
    case "back":
    case "raise":
    case "consent":
      return s.dialog ? { ...s, dialog: null } : s;
    default:
      return s;
  }
}

const SLOT_FIELDS = {
  "program-video": "video", "chair-video": "video", "program-audio": "audio", "chair-audio": "audio",
  "floor-video": "floorVideo", "floor-audio": "floorAudio", "slides-video": "slidesVideo",
};

/** The next state after `event`. Pure: no DOM, no clock (events carry `at`), no I/O. */
export function reduce(s, event) {
  const current = event.gen === undefined || event.gen === s.session.gen;
  switch (event.type) {
    case "socket":
      return { ...s, socket: event.status };
    case "message":
      return onMessage(s, event.msg, event.at);
    case "session-up":
      if (!current) return s;
      return {
        ...s, sessions: s.sessions + 1, fatal: null, session: { ...s.session, wait: null },
        pc: event.pc, pcSince: event.at, video: event.video, audio: event.audio,
        floorVideo: event.floorVideo || "none", floorAudio: event.floorAudio || "none",
        slidesVideo: event.slidesVideo || "none",
      };
    case "session-failed":
      if (!current) return s;
      return rejoin({ ...s, fatal: FATAL_STATUS.has(event.status) ? { status: event.status, code: event.code } : null }, false);
    case "pc":
      if (!current || event.state === s.pc) return s;
      if (event.state === "failed") return rejoin(s, false);
      return { ...s, pc: event.state, pcSince: event.at, trouble: s.trouble || event.state === "disconnected" };
    case "track": {
      const field = SLOT_FIELDS[event.slot] || event.kind;
      if (!current || !field) return s;
      const chairs = field === "video" || field === "audio";
      return { ...s, [field]: event.state, trouble: s.trouble || (chairs && event.state !== "live") };
    }
    case "frame":
      return {
        ...s, frames: s.frames + 1, lastFrameAt: event.at, video: "live",
        fresh: s.broadcast?.live !== false, trouble: false, attempt: 0,
      };
    case "floor-frame":
      return { ...s, floorFrames: s.floorFrames + 1 };
    case "pub-up":
    case "pub-pc":
    case "pub-failed":
      return onPublisher(s, event);
    case "ui":
      return onUi(s, event);
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

/**
 * How the screen is laid out: "program" (/view: one picture, the bridge picks it);
 * on a hall TV "chair" (the chair large), "slides" (the chair's shared screen large, the
 * chair inset), "floor" (another hall speaks: that hall large,
 * the chair inset) or "own" (this hall speaks: the chair large, our own camera inset).
 */
export function layoutOf(s) {
  if (s.layout !== "hall") return "program";
  const floor = s.floor;
  // The chair teaching from slides: they fill the screen, the chair in a corner.
  const idle = s.slides && s.slidesVideo !== "none" ? "slides" : "chair";
  if (!floor) return idle;
  if (floor.hall === s.ownHall) return "own";
  // The floor's hall dropped: the chair's picture rather than a black screen.
  return floor.live === false ? idle : "floor";
}

/** The publisher, named: off | starting | live | retrying | replaced. */
export function publishing(s) {
  if (s.pub.stopped) return "replaced";
  if (s.pub.gen === 0) return "off";
  if (s.pubPc === "connected") return "live";
  return s.pubError || s.pubAttempt > 0 ? "retrying" : "starting";
}

/** This TV's own hands: the first waiting entry and its place, or null. */
export function ownHand(s) {
  if (s.ownHall === null) return null;
  const entries = waitingEntries(s.queue, s.floor, s.ownHall);
  return entries.length ? entries[0] : null;
}

/** The planned meeting a TV announces while it waits between meetings, or null. */
export function upcoming(s) {
  return view(s) === "waiting" && !s.meeting ? s.nextMeeting : null;
}
