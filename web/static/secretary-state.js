// The secretary page's state machine (secretary.js draws it and does its I/O). Pure: every
// socket message, track event, form action, HTTP answer and timer tick comes in as an event
// with `at`, and the next state comes out. The live program's picture is the public viewer's
// own state machine (tv-state.js), kept whole under `tv`.

import { initialState as tvInitial, reduce as tvReduce, view as tvView } from "./tv-state.js";

const NOTICE_MS = 6000;

export const initialState = Object.freeze({
  tv: { ...tvInitial, layout: "program" },
  socket: "connecting",
  commune: "",
  permissions: [],
  halls: {}, // id -> name, from the welcome
  meeting: null, // {id, title, opened_at} from the state message
  queue: [],
  floor: null,
  notes: [], // state.minutes.notes: {id, text, by, at}
  questions: [], // state.minutes.questions
  offset: 0, // bridge clock minus ours, seconds
  editing: null, // the entry id whose name and topic are being fixed
  fixed: {}, // entry id -> {name, topic} the register took after the floor moved on
  pending: {}, // entry id -> {status, answer} sent, not yet confirmed by a state message
  accessLog: [], // newest first, from GET /access-log
  meetings: [], // newest first, from GET /meetings: whose minutes can be downloaded
  notice: null, // {text, kind, until}: an answer the bridge gave, shown briefly
  noteSent: 0, // counts notes sent, so the page clears the box once
});

function onMessage(s, msg, at) {
  switch (msg.type) {
    case "welcome": {
      const halls = {};
      for (const h of Array.isArray(msg.halls) ? msg.halls : []) halls[h.id] = h.name;
      return { ...s, commune: msg.commune || "", permissions: msg.permissions || [], halls };
    }
    case "state": {
      const minutes = msg.minutes || { notes: [], questions: [] };
      const pending = { ...s.pending };
      for (const q of minutes.questions) {
        const sent = pending[q.entry];
        if (sent && sent.status === q.status && sent.answer === q.answer) delete pending[q.entry];
      }
      return {
        ...s,
        meeting: msg.meeting ?? null,
        queue: Array.isArray(msg.queue) ? msg.queue : [],
        floor: msg.floor ?? null,
        notes: minutes.notes,
        questions: minutes.questions,
        pending,
        offset: typeof msg.now === "number" ? msg.now - at / 1000 : s.offset,
      };
    }
    case "error":
      return { ...s, notice: { kind: "error", code: String(msg.code || ""), until: at + NOTICE_MS } };
    default:
      return s;
  }
}

function onUi(s, event) {
  switch (event.action) {
    case "note":
      return { ...s, noteSent: s.noteSent + 1 };
    case "edit":
      return { ...s, editing: event.entry };
    case "edit-done":
      return { ...s, editing: null };
    case "status":
      return { ...s, pending: { ...s.pending, [event.entry]: { status: event.status, answer: event.answer } } };
    default:
      return s;
  }
}

/** The next state after `event`. Pure: no DOM, no clock (events carry `at`), no I/O. */
export function reduce(s, event) {
  const tv = tvReduce(s.tv, event);
  const next = tv === s.tv ? s : { ...s, tv };
  switch (event.type) {
    case "socket":
      return { ...next, socket: event.status };
    case "message":
      return onMessage(next, event.msg, event.at);
    case "ui":
      return onUi(next, event);
    case "register-saved": // the register took a fixed name or topic (after the floor)
      return {
        ...next, editing: null,
        fixed: { ...next.fixed, [event.row.entry]: { name: event.row.name, topic: event.row.topic } },
        notice: { kind: "saved", code: "", until: event.at + NOTICE_MS },
      };
    case "register-failed":
      return { ...next, notice: { kind: "error", code: event.code || "other", until: event.at + NOTICE_MS } };
    case "access-log":
      return { ...next, accessLog: event.entries };
    case "meetings":
      return { ...next, meetings: event.meetings };
    case "tick":
      return next.notice && event.at > next.notice.until ? { ...next, notice: null } : next;
    default:
      return next;
  }
}

/** The page, named: offline | no-meeting | meeting. */
export function view(s) {
  if (s.socket !== "open") return "offline";
  return s.meeting ? "meeting" : "no-meeting";
}

/** What the program player says, as the public viewer names it. */
export function programView(s) {
  return tvView(s.tv);
}

/** Seconds since the meeting opened at bridge time `at`, as h:mm:ss. */
export function meetingTime(meeting, at) {
  if (!meeting || typeof meeting.opened_at !== "number") return "";
  const whole = Math.max(0, Math.floor(at - meeting.opened_at));
  const mm = String(Math.floor(whole / 60) % 60).padStart(2, "0");
  const ss = String(whole % 60).padStart(2, "0");
  return `${Math.floor(whole / 3600)}:${mm}:${ss}`;
}

/**
 * Every question of the meeting, as the list shows it: those asked (the floor's and the
 * ones before, newest last, with status and answer) and then those still waiting.
 */
export function questionRows(s) {
  const asked = s.questions.map((q) => {
    const fixed = s.fixed[q.entry] || {};
    const sent = s.pending[q.entry];
    return {
      entry: q.entry, hall: s.halls[q.hall] || q.hall, name: fixed.name ?? q.name,
      topic: fixed.topic ?? q.topic, asked: true, onFloor: s.floor?.entry?.id === q.entry,
      grantedAt: q.granted_at, status: sent ? sent.status : q.status,
      answer: sent ? sent.answer : q.answer, consent: q.consent, cut: q.cut, saving: Boolean(sent),
    };
  });
  const waiting = s.queue.map((e) => ({
    entry: e.id, hall: e.hall_name || s.halls[e.hall] || e.hall, name: e.name, topic: e.topic,
    asked: false, onFloor: false, grantedAt: null, status: null, answer: "", consent: null,
    cut: false, saving: false,
  }));
  return [...asked, ...waiting];
}

/** Whether a name or topic fix goes to the live room (`edit`) or to the register. */
export function fixRoute(row) {
  return !row.asked || row.onFloor ? "socket" : "register";
}
