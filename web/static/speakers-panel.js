// The "Cụm loa" panel: each loudspeaker cluster's state, read from GET /speakers every 2 s.
// Mounted into <section id="speakers-panel"> on the chair console and the secretary page;
// it mounts itself when loaded, and exports mountSpeakersPanel for pages that prefer to.

import { pageParams, fetchSpeakers } from "./protocol.js";

const POLL_MS = 2000;
const TEXT = {
  vi: {
    title: "Cụm loa",
    none: "Chưa cấu hình cụm loa nào.",
    on: "Đang phát",
    off: "Không kết nối",
    never: "Chưa từng kết nối",
    dropped: "Mất kết nối trong cuộc họp",
    stale: "Lâu không thấy tín hiệu",
    since: "từ {time}",
    lastSeen: "thấy lần cuối {time}",
    sent: "đã gửi {kib} KiB",
    backlog: "tồn đọng {kib} KiB",
    volume: "âm lượng {v}",
    signal: "tín hiệu {v}",
    power: "nguồn {v}",
    firmware: "phần mềm {v}",
    unreachable: "Không đọc được trạng thái cụm loa",
    carried: "Đã phát cuộc họp này: {list}",
  },
  en: {
    title: "Loudspeaker clusters",
    none: "No loudspeaker clusters configured.",
    on: "On air",
    off: "Not connected",
    never: "Never connected",
    dropped: "Dropped during the meeting",
    stale: "Not seen for a while",
    since: "since {time}",
    lastSeen: "last seen {time}",
    sent: "sent {kib} KiB",
    backlog: "backlog {kib} KiB",
    volume: "volume {v}",
    signal: "signal {v}",
    power: "power {v}",
    firmware: "firmware {v}",
    unreachable: "Cannot read the clusters' state",
    carried: "Carried this meeting: {list}",
  },
};

/** The panel's whole state; reduce() is the only way it changes. */
export function initialState() {
  return { clusters: [], history: [], meeting: null, error: null, loaded: false };
}

/** Pure: `event` is {type: "loaded", body} or {type: "failed", status}. */
export function reduce(state, event) {
  switch (event.type) {
    case "loaded":
      return {
        clusters: event.body.clusters || [],
        history: event.body.history || [],
        meeting: event.body.meeting ?? null,
        error: null,
        loaded: true,
      };
    case "failed":
      return { ...state, error: event.status };
    default:
      return state;
  }
}

/** What one cluster's row says: its verdict and its figures, as plain data. */
export function clusterView(cluster) {
  const flags = cluster.flags || [];
  let verdict = cluster.connected ? "on" : cluster.last_seen ? "off" : "never";
  if (flags.includes("dropped")) verdict = "dropped";
  return { verdict, warn: flags.length > 0, flags };
}

function say(lang, key, vars = {}) {
  return TEXT[lang][key].replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

function clock(unix) {
  return new Date(unix * 1000).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" });
}

function render(section, state, lang) {
  const list = section.querySelector("ul");
  const note = section.querySelector("p.error");
  note.hidden = state.error === null;
  note.textContent = state.error === null ? "" : say(lang, "unreachable");
  list.replaceChildren();
  if (state.loaded && state.clusters.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = say(lang, "none");
    list.append(li);
  }
  for (const cluster of state.clusters) {
    const view = clusterView(cluster);
    const li = document.createElement("li");
    li.dataset.speaker = cluster.id;
    li.dataset.state = view.verdict;
    li.dataset.flags = view.flags.join(" ");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = cluster.name;
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = say(lang, view.verdict);
    const figures = document.createElement("small");
    const parts = [];
    if (cluster.since) parts.push(say(lang, "since", { time: clock(cluster.since) }));
    else if (cluster.last_seen) parts.push(say(lang, "lastSeen", { time: clock(cluster.last_seen) }));
    parts.push(say(lang, "sent", { kib: Math.round(cluster.bytes_sent / 1024) }));
    if (cluster.backlog > 0) parts.push(say(lang, "backlog", { kib: (cluster.backlog / 1024).toFixed(1) }));
    const status = cluster.status || {};
    for (const field of ["volume", "signal", "power", "firmware"]) {
      if (status[field] !== null && status[field] !== undefined) parts.push(say(lang, field, { v: status[field] }));
    }
    figures.textContent = parts.join(" · ");
    li.append(name, badge, figures);
    if (view.flags.includes("stale")) {
      const warning = document.createElement("span");
      warning.className = "warning";
      warning.textContent = say(lang, "stale");
      li.append(warning);
    }
    list.append(li);
  }
  const carried = section.querySelector("p.carried");
  const spans = state.history.map((s) => `${s.speaker} ${clock(s.started_at)}–${s.ended_at ? clock(s.ended_at) : "…"}`);
  carried.hidden = !state.meeting || spans.length === 0;
  carried.textContent = spans.length ? say(lang, "carried", { list: spans.join(", ") }) : "";
}

/** Build the panel inside `section` and keep it fresh; returns {state(), stop()}. */
export function mountSpeakersPanel(section, { key, lang } = pageParams()) {
  if (section.dataset.mounted) return null;
  section.dataset.mounted = "1";
  const heading = document.createElement("h2");
  heading.textContent = say(lang, "title");
  const list = document.createElement("ul");
  list.className = "speakers";
  const error = document.createElement("p");
  error.className = "error";
  error.hidden = true;
  const carried = document.createElement("p");
  carried.className = "carried";
  carried.hidden = true;
  section.replaceChildren(heading, list, error, carried);
  let state = initialState();
  let timer = null;
  let stopped = false;

  async function poll() {
    try {
      state = reduce(state, { type: "loaded", body: await fetchSpeakers(key) });
    } catch (err) {
      state = reduce(state, { type: "failed", status: err.status ?? 0 });
    }
    section.dataset.loaded = state.loaded ? "1" : "";
    render(section, state, lang);
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }
  poll();
  return {
    state: () => state,
    stop() { stopped = true; clearTimeout(timer); },
  };
}

const here = document.getElementById("speakers-panel");
if (here) mountSpeakersPanel(here);
