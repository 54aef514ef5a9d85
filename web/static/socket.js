// The /ws state socket (docs/protocol.md, "Client → server"): pings, reconnects with
// back-off, and one sender per command. Pages import it through protocol.js.
import { backoffDelay } from "./protocol.js";

const PING_EVERY_MS = 10000;
// The server closes a socket silent for 30 s; we give up a little earlier on our side
// because a dead Wi-Fi link can leave a socket "open" for minutes without any event.
const SILENCE_LIMIT_MS = 25000;

const clamp = (value, low, high) => Math.min(high, Math.max(low, Number.isFinite(value) ? value : low));

const SOCKET_REFUSED = 4429;

/** Copies the fields of `fields` that are set, so optional wire fields are left out, not null. */
function present(fields) {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null));
}

/**
 * The state socket: pings every 10 s and reconnects forever with back-off.
 * onMessage(obj) gets each server message (errors included);
 * onStatus("connecting"|"open"|"closed"|"refused").
 * Returns {close(), report(figures), and one sender per floor command}. Each sender returns
 * whether the message went out: a command while the socket is down is dropped, never queued,
 * as a hand raised minutes late would surprise everyone.
 */
export function openSocket({ key, onMessage, onStatus }) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/ws?key=${encodeURIComponent(key)}`;
  let ws = null;
  let attempt = 0;
  let pingId = 0;
  let pingTimer = null;
  let retryTimer = null;
  let lastHeard = 0;
  let closed = false;

  function lost(sock, status = "closed") {
    if (ws !== sock) return;
    ws = null;
    clearInterval(pingTimer);
    onStatus?.(status);
    if (!closed) retryTimer = setTimeout(connect, backoffDelay(attempt++));
  }

  function connect() {
    if (closed) return;
    onStatus?.("connecting");
    const sock = new WebSocket(url);
    ws = sock;
    sock.onopen = () => {
      lastHeard = Date.now();
      onStatus?.("open");
      pingTimer = setInterval(() => {
        // close() on a dead link may not fire onclose for a long time, so stop waiting for it.
        if (Date.now() - lastHeard > SILENCE_LIMIT_MS) { sock.close(); lost(sock); return; }
        sock.send(JSON.stringify({ type: "ping", id: ++pingId }));
      }, PING_EVERY_MS);
    };
    sock.onmessage = (ev) => {
      lastHeard = Date.now();
      // Reset only once the server has spoken: a bridge that accepts and drops at once
      // would otherwise be hammered every second.
      attempt = 0;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg && typeof msg === "object" && msg.type !== "pong") onMessage?.(msg);
    };
    // 4429: this key already has as many pages open as the bridge allows (docs/protocol.md).
    sock.onclose = (ev) => lost(sock, ev.code === SOCKET_REFUSED ? "refused" : "closed");
    // Errors are always followed by close, which does the work.
    sock.onerror = () => {};
  }

  function send(msg) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  connect();
  return {
    report(f) {
      send({
        type: "report",
        shown: f.shown,
        frames: Math.max(0, Math.floor(f.frames)),
        fps: clamp(f.fps, 0, 1000),
        width: Math.floor(clamp(f.width, 0, 16384)),
        height: Math.floor(clamp(f.height, 0, 16384)),
        audio_level: clamp(f.audioLevel, 0, 1),
        loss: clamp(f.loss, 0, 1),
        jitter_ms: clamp(f.jitterMs, 0, 600000),
        rtt_ms: f.rttMs === null || f.rttMs === undefined ? null : clamp(f.rttMs, 0, 600000),
        bitrate_kbps: clamp(f.bitrateKbps, 0, 10000000),
      });
    },
    // The floor (docs/protocol.md, "Client → server"). `hall` omitted: the key's own hall.
    raiseHand: ({ hall, name, topic } = {}) => send({ type: "raise", ...present({ hall, name, topic }) }),
    withdraw: (entry) => send({ type: "withdraw", entry }),
    grant: (entry) => send({ type: "grant", entry }),
    endFloor: () => send({ type: "end" }),
    move: (entry, position) => send({ type: "move", entry, position }),
    mute: (hall, muted) => send({ type: "mute", hall, muted: Boolean(muted) }),
    extend: (seconds = 60) => send({ type: "extend", seconds }),
    edit: (entry, { name, topic } = {}) => send({ type: "edit", entry, ...present({ name, topic }) }),
    consent: (consent) => send({ type: "consent", consent: Boolean(consent) }),
    openMeeting: (title = "", agenda = "") => send({ type: "open-meeting", ...present({ title: title || null, agenda: agenda || null }) }),
    closeMeeting: () => send({ type: "close-meeting" }),
    recordStart: () => send({ type: "record-start" }),
    recordStop: () => send({ type: "record-stop" }),
    // The minutes (docs/protocol.md, "The record"): the secretary's and the chair's.
    addNote: (text) => send({ type: "note-add", text: String(text) }),
    setQuestionStatus: (entry, status, answer = "") =>
      send({ type: "question-status", entry, status, answer: String(answer) }),
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      ws?.close();
    },
  };
}
