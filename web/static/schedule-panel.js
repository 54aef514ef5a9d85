// The meeting schedule panel (chair console and secretary page), and the chair console's
// "Start the meeting" offer when a planned meeting's time has come. Titles and agendas
// are shown with textContent only. The panel talks to the bridge through protocol.js.

import { listSchedule, planMeeting, editPlannedMeeting, removePlannedMeeting } from "./protocol.js";
import { t, lang } from "./i18n.js";
import { formatWhen, toInputValue, fromInputValue } from "./when.js";

const REFRESH_MS = 30000;

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node[name] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

/** Words for a refused request: the server's reason for a bad field, else a plain one. */
export function refusalText(err) {
  if (err?.code === "bad-field") return t("err.bad-field", { detail: err.message });
  const key = "err." + (err?.code || "other");
  const text = t(key, { status: err?.status ?? "" });
  return text === key ? t("err.other", { status: err?.status ?? "" }) : text;
}

/** The panel's state: one object, changed only by `reduce`. */
const initial = Object.freeze({ meetings: [], editing: null, error: null, notice: null, loaded: false });

function reduce(s, event) {
  switch (event.type) {
    case "loaded": return { ...s, meetings: event.meetings, loaded: true, error: null };
    case "edit": return { ...s, editing: event.id, error: null, notice: null };
    case "saved": return { ...s, editing: null, error: null, notice: t("panel.saved") };
    case "failed": return { ...s, error: refusalText(event.err), notice: null };
    default: return s;
  }
}

/** Mount the schedule panel into `section` (an empty <section id="schedule-panel">). */
export function mountSchedulePanel(section, { key }) {
  let state = initial;
  section.replaceChildren();
  section.classList.add("panel", "schedule-panel");
  const heading = el("h2", { text: t("schedule.heading") });
  const list = el("ul", { className: "panel-list" });
  const empty = el("p", { className: "empty", text: t("schedule.empty") });
  const form = meetingForm(null);
  const error = el("p", { className: "error", role: "alert", hidden: true });
  const notice = el("p", { className: "panel-notice", role: "status", hidden: true });
  section.append(heading, list, empty, form.node, error, notice);

  function dispatch(event) {
    state = reduce(state, event);
    render();
  }

  async function refresh() {
    try {
      dispatch({ type: "loaded", meetings: (await listSchedule(key)).meetings });
    } catch (err) {
      dispatch({ type: "failed", err });
    }
  }

  async function act(work) {
    try {
      await work();
      dispatch({ type: "saved" });
    } catch (err) {
      dispatch({ type: "failed", err });
    }
    await refresh();
  }

  function meetingForm(meeting) {
    const title = el("input", { type: "text", maxLength: 120, required: true, className: "f-title", value: meeting?.title ?? "" });
    const when = el("input", { type: "datetime-local", required: true, className: "f-when", value: toInputValue(meeting?.starts_at) });
    const agenda = el("textarea", { rows: 4, maxLength: 2000, className: "f-agenda", value: meeting?.agenda ?? "" });
    const save = el("button", { type: "submit", className: "btn go small", text: meeting ? t("panel.save") : t("schedule.add") });
    const node = el("form", { className: "panel-form" }, [
      el("label", {}, [el("span", { text: t("schedule.title") }), title]),
      el("label", {}, [el("span", { text: t("schedule.when") }), when]),
      el("label", {}, [el("span", { text: t("schedule.agenda") }), agenda]),
      el("div", { className: "panel-buttons" }, [save]),
    ]);
    if (meeting) {
      const cancel = el("button", { type: "button", className: "btn small", text: t("panel.cancel") });
      cancel.addEventListener("click", () => dispatch({ type: "edit", id: null }));
      node.lastChild.append(cancel);
    }
    node.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const fields = { title: title.value, starts_at: fromInputValue(when.value), agenda: agenda.value };
      act(async () => {
        if (meeting) await editPlannedMeeting(key, meeting.id, fields);
        else await planMeeting(key, fields);
        if (!meeting) node.reset();
      });
    });
    return { node };
  }

  function row(meeting) {
    if (state.editing === meeting.id) return el("li", { dataset: { id: meeting.id } }, [meetingForm(meeting).node]);
    const edit = el("button", { type: "button", className: "btn small", text: t("panel.edit") });
    const remove = el("button", { type: "button", className: "btn halt small", text: t("panel.remove") });
    edit.addEventListener("click", () => dispatch({ type: "edit", id: meeting.id }));
    remove.addEventListener("click", () => act(() => removePlannedMeeting(key, meeting.id)));
    return el("li", { className: "panel-item", dataset: { id: meeting.id, due: String(Boolean(meeting.due)) } }, [
      el("div", { className: "panel-what" }, [
        el("strong", { className: "p-title", text: meeting.title }),
        el("span", { className: "p-when", text: formatWhen(meeting.starts_at, lang) }),
        el("span", { className: "p-agenda", text: meeting.agenda }),
      ]),
      el("div", { className: "panel-buttons" }, [edit, remove]),
    ]);
  }

  function render() {
    list.replaceChildren(...state.meetings.map(row));
    empty.hidden = !state.loaded || state.meetings.length > 0;
    error.textContent = state.error || "";
    error.hidden = !state.error;
    notice.textContent = state.notice || "";
    notice.hidden = !state.notice;
    section.dataset.count = String(state.meetings.length);
  }

  render();
  refresh();
  setInterval(refresh, REFRESH_MS);
  return { refresh };
}

/**
 * The chair console's offer to start a planned meeting at its time: shown while no
 * meeting is open and the state's next_meeting is due, with its title filled in (kept
 * as the chair edits it). `onStart(title, agenda)` opens the meeting.
 */
export function createStartOffer({ box, title, when, button }, onStart) {
  let offered = null; // the planned meeting shown, or null
  button.addEventListener("click", () => {
    if (offered) onStart(title.value, offered.agenda || "");
  });
  return {
    /** The meeting on offer, as the chair would start it now: {title, agenda}, or null. */
    pending() {
      return offered ? { title: title.value, agenda: offered.agenda || "" } : null;
    },
    update(msg) {
      const next = msg.next_meeting;
      const show = !msg.meeting && next && next.due ? next : null;
      if (show && show.id !== offered?.id) title.value = show.title;
      offered = show;
      box.hidden = !show;
      box.dataset.meeting = show ? show.id : "";
      when.textContent = show ? formatWhen(show.starts_at, lang) : "";
    },
  };
}
