// The secretary's page (/secretary): the live program, the notes box, the question list
// (fix names and topics, set each status and answer), the access log, and the panels other
// modules mount. One state machine (secretary-state.js); this file draws it and does its I/O.

import {
  pageParams, watchWhep, openSocket, backoffDelay, fetchAccessLog, fetchMeetings, saveRegister,
  recordLink,
} from "./protocol.js";
import { t, lang, localize, describeWireError } from "./i18n.js";
import {
  initialState, reduce, view, programView, meetingTime, questionRows, fixRoute,
} from "./secretary-state.js";

export { initialState, reduce, view };

const ACCESS_LOG_EVERY_MS = 15000;
const { key } = pageParams();
const $ = (id) => document.getElementById(id);
const ui = {
  body: document.body, commune: $("commune"), meeting: $("meeting-state"), socket: $("socket-state"),
  register: $("register-link"), video: $("video"), program: $("program-state"), sound: $("sound"),
  noteText: $("note-text"), noteAdd: $("note-add"), notes: $("notes"), notesEmpty: $("notes-empty"),
  questions: $("questions"), questionsEmpty: $("questions-empty"), notice: $("notice"),
  accessLog: $("access-log"), template: $("question-template"),
  meetings: $("meetings"), meetingsEmpty: $("meetings-empty"),
};

let state = initialState;
/** Read by tests: the page's named state and what it shows. */
const stats = {};
window.secretaryStats = stats;

function dispatch(event) {
  const prev = state;
  state = reduce(prev, { at: Date.now(), ...event });
  if (state !== prev) {
    render(state);
    effects(prev, state);
  }
}

// ---- drawing ----

const locale = lang === "en" ? "en-GB" : "vi-VN";
const clock = (unix) => new Date(unix * 1000).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", hour12: false });

function render(s) {
  const name = view(s);
  Object.assign(stats, {
    state: name, program: programView(s), notes: s.notes.length, questions: s.questions.length,
    meeting: s.meeting?.id ?? null, accessLog: s.accessLog.length, framesRendered: s.tv.frames,
  });
  ui.body.dataset.view = name;
  ui.commune.textContent = s.commune;
  ui.meeting.textContent = s.meeting
    ? `${s.meeting.title || ""} · ${t("meeting.since", { time: clock(s.meeting.opened_at) })}`
    : t("meeting.none");
  ui.socket.textContent = t("socket." + s.socket);
  ui.program.textContent = programView(s) === "live" ? "" : t("tv." + programView(s));
  ui.noteAdd.disabled = name !== "meeting";
  renderNotes(s);
  renderQuestions(s);
  renderAccessLog(s);
  renderMeetings(s);
  ui.notice.hidden = !s.notice;
  if (s.notice) {
    ui.notice.dataset.kind = s.notice.kind;
    ui.notice.textContent = s.notice.kind === "saved" ? t("sec.saved") : describeWireError(s.notice.code);
  }
}

function renderNotes(s) {
  ui.notesEmpty.hidden = s.notes.length > 0;
  if (ui.notes.childElementCount === s.notes.length && ui.notes.dataset.meeting === (s.meeting?.id ?? "")) return;
  ui.notes.dataset.meeting = s.meeting?.id ?? "";
  ui.notes.replaceChildren(...s.notes.map((note) => {
    const li = document.createElement("li");
    const when = document.createElement("span");
    when.className = "note-time";
    when.textContent = `${meetingTime(s.meeting, note.at)} · ${clock(note.at)}`;
    const text = document.createElement("span");
    text.className = "note-text";
    text.textContent = note.text; // as text, whatever it holds
    li.append(when, " ", text);
    return li;
  }));
}

const rowsShown = new Map(); // entry id -> its <li>, kept so typing is never wiped by a redraw

function renderQuestions(s) {
  const rows = questionRows(s);
  ui.questionsEmpty.hidden = rows.length > 0;
  const keep = new Set(rows.map((r) => r.entry));
  for (const [entry, li] of rowsShown) if (!keep.has(entry)) { li.remove(); rowsShown.delete(entry); }
  rows.forEach((row, index) => {
    let li = rowsShown.get(row.entry);
    if (!li) { li = makeRow(row.entry); rowsShown.set(row.entry, li); }
    if (ui.questions.children[index] !== li) ui.questions.insertBefore(li, ui.questions.children[index] || null);
    fillRow(li, row, s);
  });
}

function makeRow(entry) {
  const li = ui.template.content.firstElementChild.cloneNode(true);
  li.dataset.entry = entry;
  localize(li);
  const field = (cls) => li.querySelector(cls);
  for (const input of li.querySelectorAll("input, select")) {
    input.addEventListener("input", () => { input.dataset.dirty = "1"; });
  }
  field(".q-edit").addEventListener("click", () => dispatch({ type: "ui", action: "edit", entry }));
  field(".q-fix-cancel").addEventListener("click", () => dispatch({ type: "ui", action: "edit-done" }));
  field(".q-fix-save").addEventListener("click", () => fixName(li, entry));
  field(".q-status-save").addEventListener("click", () => {
    const status = field(".q-status-select").value;
    const answer = field(".q-answer").value.trim();
    if (socket.setQuestionStatus(entry, status, answer)) {
      delete field(".q-status-select").dataset.dirty;
      delete field(".q-answer").dataset.dirty;
      dispatch({ type: "ui", action: "status", entry, status, answer });
    }
  });
  return li;
}

function fillRow(li, row, s) {
  const field = (cls) => li.querySelector(cls);
  li.dataset.state = row.onFloor ? "floor" : row.asked ? "asked" : "waiting";
  li.dataset.status = row.status || "";
  field(".q-time").textContent = row.grantedAt ? clock(row.grantedAt) : t("hall.raised");
  field(".q-hall").textContent = row.hall;
  field(".q-name").textContent = row.name;
  field(".q-topic").textContent = row.topic;
  const flags = [];
  if (row.onFloor) flags.push(t("hall.speaking"));
  if (row.asked && row.consent !== true) flags.push(t("sec.notRecorded"));
  if (row.cut) flags.push(t("sec.cut"));
  field(".q-flags").textContent = flags.join(" · ");
  const fixing = s.editing === row.entry;
  const fix = field(".q-fix");
  if (fix.hidden === fixing) {
    fix.hidden = !fixing;
    if (fixing) {
      field(".q-name-input").value = row.name;
      field(".q-topic-input").value = row.topic;
      field(".q-name-input").focus();
    }
  }
  field(".q-status").hidden = !row.asked;
  field(".q-status-save").disabled = !s.meeting || row.saving;
  setUnlessTyping(field(".q-status-select"), row.status || "open");
  setUnlessTyping(field(".q-answer"), row.answer || "");
}

function setUnlessTyping(input, value) {
  if (input.dataset.dirty || document.activeElement === input) return;
  input.value = value;
}

async function fixName(li, entry) {
  const row = questionRows(state).find((r) => r.entry === entry);
  if (!row) return;
  const name = li.querySelector(".q-name-input").value.trim();
  const topic = li.querySelector(".q-topic-input").value.trim();
  if (fixRoute(row) === "socket") {
    if (socket.edit(entry, { name, topic })) dispatch({ type: "ui", action: "edit-done" });
    return;
  }
  // The floor moved on: the live room no longer edits it, the register does.
  try {
    const saved = await saveRegister(key, state.meeting.id, entry, { name, topic });
    dispatch({ type: "register-saved", row: saved });
  } catch (err) {
    dispatch({ type: "register-failed", code: err.code === "bad-field" ? "bad-field" : "other" });
  }
}

const MEETINGS_SHOWN = 10;

function renderMeetings(s) {
  const shown = s.meetings.slice(0, MEETINGS_SHOWN);
  ui.meetingsEmpty.hidden = shown.length > 0;
  const signature = shown.map((m) => m.id + (m.closed_at ?? "")).join();
  if (ui.meetings.dataset.shown === signature) return;
  ui.meetings.dataset.shown = signature;
  ui.meetings.replaceChildren(...shown.map((m) => {
    const li = document.createElement("li");
    li.dataset.meeting = m.id;
    const title = document.createElement("span");
    const opened = new Date(m.opened_at * 1000).toLocaleString(locale, { hour12: false, dateStyle: "short", timeStyle: "short" });
    title.textContent = `${opened} · ${m.title || m.id}${m.closed_at ? "" : " · " + t("sec.open")}`;
    li.append(title);
    for (const kind of ["docx", "html", "json"]) {
      const a = document.createElement("a");
      a.className = "btn small";
      a.href = recordLink(key, kind, m.id);
      a.textContent = kind.toUpperCase();
      li.append(" ", a);
    }
    return li;
  }));
}

const ACTIONS = { view: "sec.viewed", export: "sec.exported", download: "sec.downloaded", delete: "sec.deleted", denied: "sec.denied", edit: "sec.edited" };

function renderAccessLog(s) {
  if (ui.accessLog.dataset.shown === String(s.accessLog[0]?.at ?? "") + s.accessLog.length) return;
  ui.accessLog.dataset.shown = String(s.accessLog[0]?.at ?? "") + s.accessLog.length;
  ui.accessLog.replaceChildren(...s.accessLog.map((e) => {
    const tr = document.createElement("tr");
    const when = new Date(e.at * 1000).toLocaleString(locale, { hour12: false });
    for (const value of [when, t("role." + e.role), ACTIONS[e.action] ? t(ACTIONS[e.action]) : e.action, e.target]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(td);
    }
    return tr;
  }));
}

// ---- effects: the program's WHEP session, as the public viewer runs it ----

let running = 0;
let handle = null;
let abort = null;
let startTimer = null;

function effects(prev, next) {
  if (next.tv.session.gen !== running) {
    running = next.tv.session.gen;
    clearTimeout(startTimer);
    abort?.abort();
    handle?.stop();
    handle = null;
    const wait = next.tv.session.wait === null ? 0 : backoffDelay(next.tv.session.wait);
    startTimer = setTimeout(() => startSession(running), wait);
  }
  if (prev.noteSent !== next.noteSent) ui.noteText.value = "";
  // A meeting opened or closed: its minutes appear, or become final.
  if ((prev.meeting?.id ?? null) !== (next.meeting?.id ?? null)) refreshMeetings();
}

async function startSession(gen) {
  abort = new AbortController();
  const tracks = [];
  try {
    const h = await watchWhep({
      key, iceServers: state.tv.iceServers, connection: state.tv.connection, signal: abort.signal,
      layout: "program", onTrack: (track, where) => tracks.push({ track, slot: where.slot }),
      onState: (pcState) => dispatch({ type: "pc", gen, state: pcState }),
    });
    if (gen !== running) { h.stop(); return; }
    handle = h;
    const kinds = {};
    for (const { track, slot } of tracks) {
      kinds[slot] = track.muted ? "muted" : "live";
      for (const [name, value] of [["mute", "muted"], ["unmute", "live"], ["ended", "ended"]]) {
        track.addEventListener(name, () => dispatch({ type: "track", gen, kind: track.kind, slot, state: value }));
      }
    }
    dispatch({ type: "session-up", gen, pc: h.state, video: kinds["program-video"] || "none", audio: kinds["program-audio"] || "none" });
    ui.video.srcObject = new MediaStream(tracks.map((tr) => tr.track));
    ui.video.play().catch(() => {});
  } catch (err) {
    if (gen === running) dispatch({ type: "session-failed", gen, status: err.status, code: err.code });
  }
}

function watchFrames(player) {
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const loop = () => { dispatch({ type: "frame" }); player.requestVideoFrameCallback(loop); };
    player.requestVideoFrameCallback(loop);
  }
}

async function refreshMeetings() {
  try {
    const list = await fetchMeetings(key);
    dispatch({ type: "meetings", meetings: list.meetings });
  } catch { /* tried again at the next meeting change */ }
}

async function refreshAccessLog() {
  try {
    const log = await fetchAccessLog(key);
    dispatch({ type: "access-log", entries: log.entries });
  } catch { /* shown again at the next refresh */ }
}

// ---- start ----

localize();
ui.register.href = `/register?key=${encodeURIComponent(key)}${lang === "en" ? "&lang=en" : ""}`;
// A download goes into the access log: show it soon, not at the next refresh.
ui.meetings.addEventListener("click", (ev) => { if (ev.target.closest("a")) setTimeout(refreshAccessLog, 1000); });
ui.sound.addEventListener("click", () => { ui.video.muted = !ui.video.muted; ui.video.play().catch(() => {}); });
ui.noteAdd.addEventListener("click", () => {
  const text = ui.noteText.value.trim();
  if (text && socket.addNote(text)) dispatch({ type: "ui", action: "note" });
});
ui.noteText.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) ui.noteAdd.click();
});
const socket = openSocket({
  key,
  onMessage: (msg) => dispatch({ type: "message", msg }),
  onStatus: (status) => dispatch({ type: "socket", status }),
});
render(state);
effects(initialState, state);
watchFrames(ui.video);
setInterval(() => dispatch({ type: "tick" }), 1000);
refreshAccessLog();
refreshMeetings();
setInterval(refreshAccessLog, ACCESS_LOG_EVERY_MS);
addEventListener("pagehide", () => handle?.stop());
