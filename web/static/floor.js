// What the meeting's `state` says about the floor, read the same way by every page:
// the clock offset to the bridge, the speaking timer, and a hall's place in the queue.
// Pure functions of the message and a time; no DOM.

// The chair console warns this many seconds before the speaking limit (rooms/ warns too).
export const WARN_SECONDS = 30;

/** The floor part of a `state` message, with defaults for a bridge that sends none of it. */
export function readFloor(msg, atMs) {
  const now = typeof msg.now === "number" ? msg.now : null;
  return {
    meeting: msg.meeting ?? null,
    queue: Array.isArray(msg.queue) ? msg.queue : [],
    floor: msg.floor ?? null,
    muted: Array.isArray(msg.muted) ? msg.muted : [],
    // Bridge clock minus ours, in seconds: deadlines are in the bridge's clock, and a TV's
    // clock can be minutes off.
    offset: now === null ? 0 : now - atMs / 1000,
  };
}

/**
 * The speaking timer at local time `nowMs`: whole seconds left (negative once over),
 * and whether to warn ("soon" within the last 30 s, "over" past the limit).
 */
export function floorClock(floor, offset, nowMs) {
  if (!floor || typeof floor.deadline !== "number") return null;
  const left = Math.ceil(floor.deadline - (nowMs / 1000 + offset));
  const warn = left < 0 ? "over" : left <= WARN_SECONDS ? "soon" : "";
  return { left, warn, text: (left < 0 ? "+" : "") + clockText(Math.abs(left)) };
}

/** Seconds since `since` (bridge time) at local time `nowMs`, as m:ss. */
export function waited(since, offset, nowMs) {
  if (typeof since !== "number") return "";
  return clockText(Math.max(0, Math.floor(nowMs / 1000 + offset - since)));
}

export function clockText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The queue entries of `hall` that wait (the one on the floor is no longer waiting). */
export function waitingEntries(queue, floor, hall) {
  const speaking = floor?.entry?.id;
  return queue.filter((e) => e.hall === hall && e.id !== speaking);
}

/** The entry's 1-based place in the queue: the bridge's `position`, else its index. */
export function placeOf(queue, entry) {
  if (typeof entry.position === "number") return entry.position;
  return queue.indexOf(entry) + 1;
}

/** Who holds the floor, as a lower third says it. */
export function speakerLines(floor) {
  if (!floor) return null;
  const entry = floor.entry || {};
  return {
    hall: String(entry.hall_name || floor.hall || ""),
    name: String(entry.name || ""),
    topic: String(entry.topic || ""),
  };
}
