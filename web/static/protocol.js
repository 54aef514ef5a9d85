// The only browser code that speaks the bridge's wire protocol (docs/protocol.md): WHIP
// publishing and WHEP watching here; the /ws state socket in socket.js and the plain HTTP
// calls in protocol-http.js, both re-exported below. Pages call these and only render.

const ICE_GATHER_CAP_MS = 2000;

/** A failed WHIP/WHEP request: `status` is 0 and `code` "network" when the server was unreachable. */
export class ProtocolError extends Error {
  constructor(message, status, code) {
    super(message);
    this.name = "ProtocolError";
    this.status = status;
    this.code = code;
  }
}

/** What the page was opened with: `?key=…&lang=en`, and the hall id for /hall/<id>. */
export function pageParams() {
  const query = new URLSearchParams(location.search);
  const parts = location.pathname.split("/").filter(Boolean);
  const hall = parts.length === 2 && parts[0] === "hall" ? decodeURIComponent(parts[1]) : null;
  return { key: query.get("key") || "", lang: query.get("lang") === "en" ? "en" : "vi", hall };
}

/**
 * Delay before retry number `attempt` (0-based): 1 s doubling to 30 s.
 * The jitter keeps six halls that lost the bridge together from returning in lockstep.
 */
export function backoffDelay(attempt) {
  const base = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5));
  return Math.round(Math.min(30000, base * (0.75 + Math.random() * 0.5)));
}

function gatheringDone(pc, signal) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    // Without TURN/STUN, host candidates arrive in milliseconds; the cap only protects
    // against a machine whose gathering never "completes" (e.g. a dead interface).
    const timer = setTimeout(done, ICE_GATHER_CAP_MS);
    function check() { if (pc.iceGatheringState === "complete") done(); }
    function done() {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    pc.addEventListener("icegatheringstatechange", check);
    signal?.addEventListener("abort", done);
  });
}

function aborted() {
  return new ProtocolError("aborted", 0, "aborted");
}

function authHeaders(key) {
  return { Authorization: `Bearer ${key}` };
}

// One offer/answer exchange; on any failure the pc is closed so nothing leaks.
async function negotiate(path, key, pc, signal, extraHeaders = {}) {
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringDone(pc, signal);
    if (signal?.aborted) throw aborted();
    const url = new URL(path, location.href);
    let res;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/sdp", ...authHeaders(key), ...extraHeaders },
        body: pc.localDescription.sdp,
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw aborted();
      throw new ProtocolError(String(err?.message || err), 0, "network");
    }
    const text = await res.text();
    if (!res.ok) {
      throw new ProtocolError(text.trim() || res.statusText, res.status,
        res.headers.get("X-Error-Code") || "http-" + res.status);
    }
    const loc = res.headers.get("Location");
    const session = loc ? new URL(loc, url).href : null;
    if (signal?.aborted) {
      // The server already made the session; free it rather than leave it to time out.
      if (session) fetch(session, { method: "DELETE", headers: authHeaders(key), keepalive: true }).catch(() => {});
      throw aborted();
    }
    await pc.setRemoteDescription({ type: "answer", sdp: text });
    return session;
  } catch (err) {
    pc.close();
    throw err;
  }
}

function makeHandle(pc, key, session, onState) {
  let stopped = false;
  const report = () => { if (!stopped) onState?.(pc.connectionState); };
  pc.addEventListener("connectionstatechange", report);
  return {
    pc,
    location: session,
    get state() { return pc.connectionState; },
    /** Idempotent: closes the pc and tells the server (keepalive, so it works on unload too). */
    stop() {
      if (stopped) return Promise.resolve();
      stopped = true;
      pc.removeEventListener("connectionstatechange", report);
      pc.close();
      if (!session) return Promise.resolve();
      return fetch(session, { method: "DELETE", headers: authHeaders(key), keepalive: true })
        .then(() => {}, () => {});
    },
  };
}

// The chair's camera goes out twice: full for the halls with a good link, light for the
// weak ones. The bridge picks one per hall from that hall's reports (docs/protocol.md).
// A hall's camera is only a small picture of its room: one 360p stream, so six halls
// together stay within what a commune's uplink and the bridge carry.
const PROFILES = {
  chair: [{ maxBitrate: 2_000_000 }, { maxBitrate: 400_000, scaleResolutionDownBy: 2 }],
  hall: [{ maxBitrate: 500_000 }],
  slides: [{ maxBitrate: 1_500_000 }], // a shared screen: sharp text matters more than motion
};
const HALL_HEIGHT = 360;

/**
 * What a hall TV asks getUserMedia for: a 640×360 camera, and a microphone with the
 * browser's echo canceller, noise suppression and gain control on, since the TV's own
 * loudspeakers play the commune room a metre from it.
 */
export function hallCapture() {
  return {
    video: { width: { ideal: 640 }, height: { ideal: HALL_HEIGHT }, frameRate: { ideal: 25, max: 30 } },
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  };
}

function encodingsFor(profile, track, index) {
  const base = { ...PROFILES[profile][index] };
  if (profile === "hall") {
    // A camera that ignores the `ideal` size still goes out at 360 lines.
    const height = track.getSettings?.().height || HALL_HEIGHT;
    if (height > HALL_HEIGHT) base.scaleResolutionDownBy = height / HALL_HEIGHT;
  }
  return [base];
}

/**
 * Publish `stream` to the bridge via WHIP. Profile "chair" (the default): video twice
 * (full, then light), then audio; profile "hall": one small video (≤500 kbps), then audio.
 * Resolves to a handle {pc, location, state, stop(), replaceTrack(track)}.
 * onState(connectionState) is called on every pc connection state change.
 * Throws ProtocolError (with .status and .code) when the server refuses.
 */
export async function publishWhip({
  key, stream, onState, signal, connection, iceServers = [], profile = "chair", source = null,
}) {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers });
  const video = stream.getVideoTracks()[0];
  const audio = stream.getAudioTracks()[0];
  const videoSenders = [];
  let lightTrack = null;
  if (video) {
    const tracks = [video];
    if (PROFILES[profile].length > 1) tracks.push(lightTrack = video.clone());
    tracks.forEach((track, i) => {
      const tr = pc.addTransceiver(track, {
        direction: "sendonly", streams: [stream], sendEncodings: encodingsFor(profile, track, i),
      });
      videoSenders.push(tr.sender);
    });
  }
  const audioSender = audio
    ? pc.addTransceiver(audio, { direction: "sendonly", streams: [stream] }).sender
    : null;
  // Naming our socket lets the bridge tell this page, and only it, when another
  // device with the same key takes the stream over.
  const extra = connection ? { "X-Connection": connection } : {};
  let session;
  try {
    // `source: "slides"` publishes the chair's shared screen beside its camera.
    const path = source ? `/whip?source=${encodeURIComponent(source)}` : "/whip";
    session = await negotiate(path, key, pc, signal, extra);
  } catch (err) {
    lightTrack?.stop();
    throw err;
  }
  const handle = makeHandle(pc, key, session, onState);
  const stop = handle.stop;
  handle.stop = () => { lightTrack?.stop(); return stop(); };
  // Switching camera or microphone mid-broadcast must not cut the halls off, so swap
  // the track on the existing senders instead of publishing anew.
  handle.replaceTrack = async (track) => {
    if (track.kind === "audio") { await audioSender?.replaceTrack(track); return; }
    if (!videoSenders.length) return;
    await videoSenders[0].replaceTrack(track);
    if (videoSenders.length < 2) return;
    const old = lightTrack;
    lightTrack = track.clone();
    await videoSenders[1].replaceTrack(lightTrack);
    old?.stop();
  };
  return handle;
}

/**
 * The sections a WHEP offer asks for, in order, with the slot each one is (docs/protocol.md):
 * "program" one video and one audio; "hall" (a hall TV) the chair's video and audio, then
 * the speaking hall's, then the slides; "chair" (the console) one video per hall in config order, then the
 * speaking hall's audio.
 */
export function layoutSections(layout, halls = []) {
  if (layout === "hall") {
    return [["video", "chair-video"], ["audio", "chair-audio"], ["video", "floor-video"], ["audio", "floor-audio"],
      ["video", "slides-video"]];
  }
  if (layout === "chair") {
    return [...halls.map((id) => ["video", `hall-video:${id}`]), ["audio", "floor-audio"]];
  }
  return [["video", "program-video"], ["audio", "program-audio"]];
}

/**
 * Watch via WHEP with the given layout (see layoutSections). onTrack(track, {slot, index, mid})
 * fires for each received track before this resolves; the slot comes from the transceiver
 * the track arrived on, so it never depends on the order tracks are announced in.
 * Resolves to a handle {pc, location, state, stop()}; throws ProtocolError when refused.
 */
export async function watchWhep({
  key, onTrack, onState, signal, connection, iceServers = [], layout = "program", halls = [],
}) {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers });
  const sections = layoutSections(layout, halls);
  const transceivers = sections.map(([kind]) => pc.addTransceiver(kind, { direction: "recvonly" }));
  pc.addEventListener("track", (ev) => {
    const index = transceivers.indexOf(ev.transceiver);
    onTrack?.(ev.track, { slot: index >= 0 ? sections[index][1] : null, index, mid: ev.transceiver?.mid ?? null });
  });
  const extra = connection ? { "X-Connection": connection } : {};
  const session = await negotiate("/whep", key, pc, signal, extra);
  return makeHandle(pc, key, session, onState);
}

/**
 * Cumulative receive figures of a watching pc, from getStats(): packets and bytes
 * received and lost (all tracks), the worst jitter, the ICE round-trip time, and the
 * received audio level now and as total energy over total seconds played out (their
 * change over an interval gives that interval's level, which a point sample misses).
 * Null when the pc cannot say (e.g. it was closed meanwhile).
 */
export async function readLinkStats(pc) {
  let report;
  try { report = await pc.getStats(); } catch { return null; }
  const out = {
    packetsLost: 0, packetsReceived: 0, bytesReceived: 0, jitterMs: 0, rttMs: null,
    audioLevel: 0, audioEnergy: 0, audioSeconds: 0,
  };
  report.forEach((r) => {
    if (r.type === "inbound-rtp") {
      out.packetsLost += Math.max(0, r.packetsLost || 0); // negative when duplicates arrived
      out.packetsReceived += r.packetsReceived || 0;
      out.bytesReceived += r.bytesReceived || 0;
      out.jitterMs = Math.max(out.jitterMs, (r.jitter || 0) * 1000);
      if (r.kind === "audio") {
        out.audioLevel = r.audioLevel || 0;
        out.audioEnergy = r.totalAudioEnergy || 0;
        out.audioSeconds = r.totalSamplesDuration || 0;
      }
    } else if (r.type === "candidate-pair" && r.nominated && typeof r.currentRoundTripTime === "number") {
      out.rttMs = r.currentRoundTripTime * 1000;
    }
  });
  return out;
}

// The state socket lives in socket.js, the plain HTTP calls of the record, the board, the
// schedule and the loudspeakers in protocol-http.js; the pages still import all from here.
export { openSocket } from "./socket.js";
export * from "./protocol-http.js";
