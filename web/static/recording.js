// The recording notice, read the same way by every page: whether the meeting is being
// recorded (a red dot and "Cuộc họp đang được ghi hình"), when a TV should chime, and on
// the chair console the start/stop buttons and why a recording stopped by itself.
// `reduceRecording` is pure; the render functions only draw what the state says.

import { t } from "./i18n.js";

// A recording that began this recently (bridge clock) is announced; an older one, found
// by a TV that just opened, is only shown.
const CHIME_WITHIN_S = 10;
const ERROR_MS = 8000; // how long a refusal ("no-space") stays on the console
const FAILURES = new Set(["disk-full", "error", "interrupted"]);
export const NOTICE_SOUND = "/recording-notice.wav";

export const initialRecording = Object.freeze({
  recording: null, // {id, since} while the meeting is recorded
  stopped: null, // {id, reason, at}: how the last one ended, until the next starts
  chimes: 0, // starts heard since the page opened: a TV plays the notice when it grows
  refusal: null, // {message, until}: the bridge refused to start (too little disk)
});

/** The next recording state after one socket message `msg` at local time `at` (ms). */
export function reduceRecording(s, msg, at) {
  if (msg.type === "error" && msg.code === "no-space") {
    return { ...s, refusal: { message: String(msg.message || ""), until: at + ERROR_MS } };
  }
  if (msg.type !== "state") {
    return s.refusal && at > s.refusal.until ? { ...s, refusal: null } : s;
  }
  const recording = msg.recording ?? null;
  const isNew = recording !== null && recording.id !== s.recording?.id;
  const recent = isNew && typeof msg.now === "number" && msg.now - recording.since < CHIME_WITHIN_S;
  return {
    ...s, recording, stopped: msg.recording_stopped ?? null, chimes: s.chimes + (recent ? 1 : 0),
    refusal: recording ? null : s.refusal,
  };
}

/** Why the console should warn, or null: a recording that stopped by itself, or a refusal. */
export function recordingProblem(s) {
  if (s.refusal) return s.refusal.message;
  const reason = s.stopped?.reason;
  return FAILURES.has(reason) ? t("rec.failed." + reason) : null;
}

/** Show or hide the red-dot notice `el` (it holds .rec-dot and [data-i18n="rec.notice"]). */
export function renderNotice(el, s) {
  el.hidden = !s.recording;
  el.dataset.recording = s.recording ? s.recording.id : "";
}

/** The chair console's recording controls: {start, stop, notice, problem} elements. */
export function renderRecordingPanel(ui, s, meetingOpen) {
  renderNotice(ui.notice, s);
  ui.start.hidden = Boolean(s.recording);
  ui.start.disabled = !meetingOpen;
  ui.stop.hidden = !s.recording;
  const problem = recordingProblem(s);
  ui.problem.hidden = !problem;
  ui.problem.textContent = problem || "";
}

/** Announce a start: the chime and the spoken line, rendered once by the bridge. */
export function playNotice() {
  const sound = new Audio(NOTICE_SOUND);
  sound.play().catch(() => {}); // sound still blocked: the red dot says it anyway
}
