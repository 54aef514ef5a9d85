// The question register page (/register): every citizen question of every meeting, with
// its due date; overdue ones stand out. A key with `keep_minutes` sets status and answer.
// One state object, a pure `reduce`, one `render`; the I/O is at the bottom.

import { pageParams, fetchRegister, saveRegister, recordLink } from "./protocol.js";
import { t, lang, localize, describeWireError } from "./i18n.js";

export const initialState = Object.freeze({
  phase: "loading", // loading | ready | failed
  rows: [],
  mayEdit: false,
  filter: "",
  saving: {}, // "meeting/entry" -> true while its POST runs
  notice: null, // {kind: "saved" | "error", code}
});

const id = (row) => `${row.meeting}/${row.entry}`;

/** The next state after `event`. Pure: no DOM, no clock, no I/O. */
export function reduce(s, event) {
  switch (event.type) {
    case "loaded":
      return { ...s, phase: "ready", rows: event.data.questions, mayEdit: Boolean(event.data.may_edit) };
    case "load-failed":
      return { ...s, phase: s.phase === "ready" ? "ready" : "failed", notice: { kind: "error", code: event.code } };
    case "filter":
      return { ...s, filter: event.value };
    case "saving":
      return { ...s, saving: { ...s.saving, [event.id]: true }, notice: null };
    case "saved": {
      const saving = { ...s.saving };
      delete saving[id(event.row)];
      return { ...s, saving, rows: s.rows.map((r) => (id(r) === id(event.row) ? event.row : r)), notice: { kind: "saved" } };
    }
    case "save-failed": {
      const saving = { ...s.saving };
      delete saving[event.id];
      return { ...s, saving, notice: { kind: "error", code: event.code } };
    }
    default:
      return s;
  }
}

/** The rows the filter lets through: a status, "overdue", or "unsettled" (not answered). */
export function shown(s) {
  if (!s.filter) return s.rows;
  if (s.filter === "overdue") return s.rows.filter((r) => r.state === "overdue");
  if (s.filter === "unsettled") return s.rows.filter((r) => r.status !== "answered");
  return s.rows.filter((r) => r.status === s.filter);
}

// ---- the page ----

const { key } = pageParams();
const $ = (name) => document.getElementById(name);
const locale = lang === "en" ? "en-GB" : "vi-VN";
let state = initialState;
window.registerStats = {};

function dispatch(event) {
  const prev = state;
  state = reduce(prev, event);
  if (state !== prev) render(state);
}

function cell(text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.textContent = text;
  return td;
}

function render(s) {
  const rows = shown(s);
  document.body.dataset.view = s.phase;
  Object.assign(window.registerStats, {
    phase: s.phase, rows: rows.length, overdue: s.rows.filter((r) => r.state === "overdue").length,
  });
  $("summary").textContent = t("reg.summary", {
    n: s.rows.length, overdue: window.registerStats.overdue,
    open: s.rows.filter((r) => r.status !== "answered").length,
  });
  $("empty").hidden = s.phase !== "ready" || rows.length > 0;
  $("notice").hidden = !s.notice;
  if (s.notice) $("notice").textContent = s.notice.kind === "saved" ? t("sec.saved") : describeWireError(s.notice.code);
  const body = $("rows");
  const focused = body.contains(document.activeElement);
  if (focused) return; // never redraw under a hand that is typing an answer
  body.replaceChildren(...rows.map((row) => rowOf(row, s)));
}

function rowOf(row, s) {
  const tr = document.createElement("tr");
  tr.dataset.state = row.state;
  tr.dataset.entry = id(row);
  const asked = new Date(row.granted_at * 1000);
  const due = new Date(`${row.due}T12:00:00+07:00`);
  const dueText = due.toLocaleDateString(locale) + (row.state === "overdue" ? ` · ${t("reg.overdueBy", { n: -row.days_left })}` : "");
  tr.append(
    cell(row.meeting_title || row.meeting, "q-meeting"),
    cell(asked.toLocaleString(locale, { hour12: false, dateStyle: "short", timeStyle: "short" })),
    cell(row.hall_name), cell(row.name, "name"), cell(row.topic, "topic"), cell(dueText, "due"),
  );
  const status = document.createElement("select");
  status.className = "q-state";
  for (const value of ["open", "answered", "follow-up", "forwarded"]) {
    const option = new Option(t("status." + value), value);
    status.append(option);
  }
  status.value = row.status;
  const answer = document.createElement("input");
  answer.className = "answer";
  answer.type = "text";
  answer.maxLength = 2000;
  answer.value = row.answer;
  const save = document.createElement("button");
  save.type = "button";
  save.className = "btn small go save";
  save.textContent = t("chair.save");
  save.disabled = Boolean(s.saving[id(row)]);
  for (const control of [status, answer, save]) control.disabled ||= !s.mayEdit;
  save.addEventListener("click", async () => {
    dispatch({ type: "saving", id: id(row) });
    try {
      const saved = await saveRegister(key, row.meeting, row.entry, { status: status.value, answer: answer.value.trim() });
      save.blur();
      dispatch({ type: "saved", row: saved });
    } catch (err) {
      dispatch({ type: "save-failed", id: id(row), code: err.code === "bad-field" ? "bad-field" : "other" });
    }
  });
  const statusCell = document.createElement("td");
  statusCell.append(status);
  const answerCell = document.createElement("td");
  answerCell.append(answer);
  const saveCell = document.createElement("td");
  saveCell.append(save);
  tr.append(statusCell, answerCell, saveCell);
  return tr;
}

async function load() {
  try {
    dispatch({ type: "loaded", data: await fetchRegister(key) });
  } catch (err) {
    dispatch({ type: "load-failed", code: err.status === 403 ? "forbidden" : "other" });
  }
}

localize();
$("xlsx").href = recordLink(key, "xlsx");
$("csv").href = recordLink(key, "csv");
$("filter").addEventListener("change", (ev) => dispatch({ type: "filter", value: ev.target.value }));
render(state);
load();
setInterval(() => { if (!$("rows").contains(document.activeElement)) load(); }, 30000);
