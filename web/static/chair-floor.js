// The chair console's meeting: open and close it, the raised hands in order, the speaker
// with the timer, and a cue (a short beep and a banner) when a hand goes up.
// One state object: `reduce` is pure, `render` draws, the caller's socket does the I/O.
// Every name, topic and hall name goes in as textContent, never as HTML.

import { readFloor, floorClock, waited, speakerLines } from "./floor.js";
import { t, lang, describeWireError } from "./i18n.js";

const CUE_MS = 5000;
const NOTICE_MS = 8000;

export const initialFloor = Object.freeze({
  known: false, // a state message arrived: later new entries are hands going up, not history
  meeting: null,
  queue: [],
  floor: null,
  muted: [],
  offset: 0,
  editing: null, // the entry id being edited
  cue: null, // {halls: [names], until}
  cues: 0, // hands seen going up since the page opened (a beep each)
  notice: null, // {code, message, until}
});

/** The entries still waiting: the one on the floor is shown as the speaker instead. */
export function waiting(s) {
  const speaking = s.floor?.entry?.id;
  return s.queue.filter((e) => e.id !== speaking);
}

export function reduceFloor(s, event) {
  switch (event.type) {
    case "state": {
      const next = { ...s, ...readFloor(event.msg, event.at), known: true };
      const before = new Set(s.queue.map((e) => e.id));
      const raised = s.known ? waiting(next).filter((e) => !before.has(e.id)) : [];
      if (next.editing && !next.queue.some((e) => e.id === next.editing)) next.editing = null;
      if (!raised.length) return next;
      return {
        ...next, cues: s.cues + raised.length,
        cue: { halls: raised.map((e) => String(e.hall_name || e.hall)), until: event.at + CUE_MS },
      };
    }
    case "error":
      return { ...s, notice: { code: String(event.msg.code || ""), message: String(event.msg.message || ""), until: event.at + NOTICE_MS } };
    case "edit":
      return { ...s, editing: event.entry };
    case "edit-done":
      return { ...s, editing: null };
    case "tick": {
      let next = s;
      if (s.cue && event.at > s.cue.until) next = { ...next, cue: null };
      if (s.notice && event.at > s.notice.until) next = { ...next, notice: null };
      return next;
    }
    default:
      return s;
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className, labelKey, onClick, extra = {}) {
  const b = el("button", "btn small " + className, extra.text ?? t(labelKey));
  b.type = "button";
  if (extra.label) b.setAttribute("aria-label", t(extra.label));
  if (extra.label) b.title = t(extra.label);
  b.disabled = Boolean(extra.disabled);
  b.addEventListener("click", onClick);
  return b;
}

/**
 * The panel's renderer over the page's elements; `commands` is the socket (protocol.js)
 * and `dispatch` feeds events back. `render(s)` draws the state; `tick(s)` updates the clocks.
 */
export function floorView(ui, commands, dispatch) {
  let drawnQueue = "";

  function entryRow(entry, index, count, s) {
    const li = el("li", "entry");
    li.dataset.entry = entry.id;
    li.dataset.hall = entry.hall;
    const who = el("div", "entry-who");
    who.append(
      el("span", "q-place", String(entry.position ?? index + 1)),
      el("span", "q-hall", String(entry.hall_name || entry.hall)),
    );
    if (s.editing === entry.id) {
      const name = el("input", "q-edit-name");
      Object.assign(name, { type: "text", maxLength: 60, value: String(entry.name || "") });
      name.setAttribute("aria-label", t("floor.name"));
      const topic = el("input", "q-edit-topic");
      Object.assign(topic, { type: "text", maxLength: 120, value: String(entry.topic || "") });
      topic.setAttribute("aria-label", t("floor.topic"));
      const save = () => {
        commands.edit(entry.id, { name: name.value.trim(), topic: topic.value.trim() });
        dispatch({ type: "edit-done" });
      };
      for (const input of [name, topic]) {
        input.addEventListener("keydown", (ev) => {
          if (ev.key === "Enter") save();
          if (ev.key === "Escape") dispatch({ type: "edit-done" });
        });
      }
      who.append(name, topic);
      li.append(who, el("div", "entry-actions"));
      li.lastChild.append(
        button("go", "chair.save", save),
        button("", "chair.cancel", () => dispatch({ type: "edit-done" })),
      );
      return li;
    }
    who.append(el("span", "q-name", String(entry.name || "")), el("span", "q-topic", String(entry.topic || "")));
    const wait = el("span", "q-wait");
    wait.dataset.since = String(entry.raised_at ?? "");
    who.append(wait);
    const actions = el("div", "entry-actions");
    actions.append(
      button("go q-grant", "chair.grant", () => commands.grant(entry.id)),
      button("q-up", null, () => commands.move(entry.id, index - 1), { text: "▲", label: "chair.up", disabled: index === 0 }),
      button("q-down", null, () => commands.move(entry.id, index + 1), { text: "▼", label: "chair.down", disabled: index === count - 1 }),
      button("q-edit", "chair.edit", () => dispatch({ type: "edit", entry: entry.id })),
      button("halt q-withdraw", "chair.withdraw", () => commands.withdraw(entry.id)),
    );
    li.append(who, actions);
    return li;
  }

  function renderQueue(s) {
    const entries = waiting(s);
    // Rebuild only when the queue itself changed: a rebuild every second would take the
    // focus and a half-typed edit away from the chair.
    const shape = JSON.stringify([entries, s.editing]);
    if (shape !== drawnQueue) {
      drawnQueue = shape;
      ui.queue.replaceChildren(...entries.map((e, i) => entryRow(e, i, entries.length, s)));
      ui.queue.querySelector(".q-edit-name")?.focus();
    }
    ui.queueEmpty.hidden = entries.length > 0;
  }

  function tick(s) {
    const now = Date.now();
    for (const wait of ui.queue.querySelectorAll(".q-wait")) {
      const since = Number(wait.dataset.since);
      wait.textContent = wait.dataset.since ? t("chair.waited", { time: waited(since, s.offset, now) }) : "";
    }
    const clock = floorClock(s.floor, s.offset, now);
    ui.timer.dataset.warn = clock ? clock.warn : "";
    ui.timer.textContent = !clock ? ""
      : clock.left < 0 ? t("chair.over", { time: clock.text.slice(1) }) : t("chair.left", { time: clock.text });
  }

  function render(s) {
    const open = Boolean(s.meeting);
    ui.meetingOpen.hidden = open;
    ui.meetingClose.hidden = !open;
    const opened = s.meeting?.opened_at;
    ui.meetingState.textContent = !open ? t("meeting.none")
      : t("meeting.since", { time: typeof opened === "number" ? new Date(opened * 1000).toLocaleTimeString(lang === "en" ? "en-GB" : "vi-VN", { hour: "2-digit", minute: "2-digit", hour12: false }) : "" });
    ui.meetingState.dataset.open = String(open);

    const speaker = speakerLines(s.floor);
    ui.floor.dataset.state = !s.floor ? "none" : s.floor.live === false ? "dropped" : "live";
    ui.floor.dataset.hall = s.floor?.hall ?? "";
    ui.floorEmpty.hidden = Boolean(speaker);
    ui.floorNow.hidden = !speaker;
    if (speaker) {
      ui.floorHall.textContent = speaker.hall + (s.floor.live === false ? ` (${t("chair.offline")})` : "");
      ui.floorName.textContent = speaker.name;
      ui.floorTopic.textContent = speaker.topic;
      ui.floorConsent.textContent = t("consent." + String(s.floor.consent ?? null));
      ui.floorConsent.dataset.consent = String(s.floor.consent ?? null);
      const muted = Boolean(s.floor.muted);
      ui.mute.textContent = t(muted ? "chair.unmute" : "chair.mute");
      ui.mute.dataset.muted = String(muted);
    }
    renderQueue(s);
    ui.cue.hidden = !s.cue;
    if (s.cue) ui.cue.textContent = s.cue.halls.map((hall) => t("chair.cue", { hall })).join(" · ");
    ui.error.hidden = !s.notice;
    if (s.notice) ui.error.textContent = describeWireError(s.notice.code) + (s.notice.message ? " " + s.notice.message : "");
    tick(s);
  }

  return { render, tick };
}

/** N gives the floor to the next entry, E ends it; never while the chair types. */
export function shortcut(s, ev) {
  if (ev.ctrlKey || ev.altKey || ev.metaKey || ev.repeat) return null;
  const target = ev.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return null;
  const letter = ev.key.toLowerCase();
  if (letter === "n") {
    const next = waiting(s)[0];
    return next ? { type: "grant", entry: next.id } : null;
  }
  if (letter === "e") return s.floor ? { type: "end" } : null;
  return null;
}

let audioContext = null;

/** A short two-tone beep: a hand went up. Quiet, so it does not carry into the chair's microphone much. */
export function beep() {
  try {
    audioContext ??= new AudioContext();
    if (audioContext.state === "suspended") audioContext.resume().catch(() => {});
    const at = audioContext.currentTime;
    const gain = audioContext.createGain();
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.35);
    gain.connect(audioContext.destination);
    for (const [freq, start] of [[880, 0], [1320, 0.15]]) {
      const osc = audioContext.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start(at + start);
      osc.stop(at + start + 0.18);
    }
  } catch {
    // No sound device: the banner still shows.
  }
}
