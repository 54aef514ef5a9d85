// The export panel of the secretary page: an "Xuất hồ sơ" button per meeting, a live
// progress bar while the bridge makes the ZIP, and its link when done. Mounted into
// <section id="export-panel">. One state object, a pure reduce(), one render().
import {
  exportDownloadUrl,
  exportStatus,
  listExports,
  pageParams,
  startExport,
} from "./protocol.js";

const POLL_MS = 500;
const WORDS = {
  vi: {
    heading: "Xuất hồ sơ cuộc họp",
    button: "Xuất hồ sơ",
    again: "Xuất lại",
    waiting: "Đang chờ…",
    running: "Đang xuất…",
    done: "Tải hồ sơ (ZIP)",
    failed: "Xuất không được",
    none: "Chưa có cuộc họp nào.",
    open: "đang họp",
    untitled: "(không tên)",
  },
  en: {
    heading: "Export a meeting's record",
    button: "Export",
    again: "Export again",
    waiting: "Waiting…",
    running: "Exporting…",
    done: "Download the record (ZIP)",
    failed: "Export failed",
    none: "No meetings yet.",
    open: "in progress",
    untitled: "(untitled)",
  },
};

export function initialState() {
  return { meetings: [], jobs: {}, error: null };
}

/** The newest export per meeting wins; a status for another meeting's job is kept too. */
export function reduce(state, event) {
  switch (event.type) {
    case "listed": {
      const jobs = { ...state.jobs };
      for (const job of [...event.exports].reverse()) jobs[job.meeting] = job;
      return { ...state, meetings: event.meetings, jobs, error: null };
    }
    case "job":
      return { ...state, jobs: { ...state.jobs, [event.job.meeting]: event.job }, error: null };
    case "error":
      return { ...state, error: event.message };
    default:
      return state;
  }
}

function when(seconds) {
  return new Date(seconds * 1000).toLocaleString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" });
}

export function mountExportPanel(section, { key, lang = "vi" } = {}) {
  const words = WORDS[lang] || WORDS.vi;
  let state = initialState();
  const timers = new Map();

  function dispatch(event) {
    state = reduce(state, event);
    render();
    follow();
  }

  async function refresh() {
    try {
      const listed = await listExports(key);
      dispatch({ type: "listed", meetings: listed.meetings, exports: listed.exports });
    } catch (err) {
      dispatch({ type: "error", message: err.message });
    }
  }

  async function start(meetingId) {
    try {
      dispatch({ type: "job", job: await startExport(meetingId, key) });
    } catch (err) {
      dispatch({ type: "error", message: err.message });
    }
  }

  // Poll each unfinished export until it is done or failed.
  function follow() {
    for (const job of Object.values(state.jobs)) {
      const busy = job.state === "waiting" || job.state === "running";
      if (!busy || timers.has(job.id)) continue;
      timers.set(
        job.id,
        setTimeout(async () => {
          try {
            const status = await exportStatus(job.id, key);
            timers.delete(job.id);
            dispatch({ type: "job", job: { meeting: job.meeting, ...status } });
          } catch (err) {
            timers.delete(job.id);
            dispatch({ type: "error", message: err.message });
          }
        }, POLL_MS),
      );
    }
  }

  function row(meeting) {
    const job = state.jobs[meeting.id];
    const li = document.createElement("li");
    li.className = "export-row";
    li.dataset.meeting = meeting.id;
    const title = document.createElement("span");
    title.className = "export-title";
    title.textContent = `${meeting.title || words.untitled} · ${when(meeting.opened_at)}` +
      (meeting.closed_at ? "" : ` (${words.open})`);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn export-start";
    const busy = job && (job.state === "waiting" || job.state === "running");
    button.disabled = Boolean(busy);
    button.textContent = job && job.state === "done" ? words.again : words.button;
    button.addEventListener("click", () => start(meeting.id));
    li.append(title, button);
    if (job) {
      const progress = document.createElement("progress");
      progress.className = "export-progress";
      progress.max = 1;
      progress.value = job.progress || 0;
      const status = document.createElement("span");
      status.className = "export-state";
      status.dataset.state = job.state;
      status.textContent = words[job.state] || job.state;
      li.append(progress, status);
      if (job.state === "done" && job.download) {
        const link = document.createElement("a");
        link.className = "export-link";
        link.href = exportDownloadUrl(job.download, key);
        link.setAttribute("download", "");
        link.textContent = words.done;
        li.append(link);
      }
      if (job.error) status.title = job.error;
    }
    return li;
  }

  function render() {
    const heading = document.createElement("h2");
    heading.textContent = words.heading;
    const list = document.createElement("ul");
    list.className = "export-list";
    list.append(...state.meetings.map(row));
    const parts = [heading, list];
    if (!state.meetings.length) {
      const empty = document.createElement("p");
      empty.textContent = words.none;
      parts.push(empty);
    }
    if (state.error) {
      const error = document.createElement("p");
      error.className = "export-error";
      error.setAttribute("role", "alert");
      error.textContent = state.error;
      parts.push(error);
    }
    section.replaceChildren(...parts);
  }

  render();
  refresh();
  return { refresh, get state() { return state; } };
}

// Mounted by itself wherever the page has the section: the page only has to load us.
const section = document.getElementById("export-panel");
if (section) {
  const { key, lang } = pageParams();
  window.exportPanel = mountExportPanel(section, { key, lang });
}
