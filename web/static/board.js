// The public bulletin board (/board?key=<viewer key>): a kiosk screen nobody touches. While
// the meeting is on air it shows the program, sound off, with who is speaking and a "Live"
// badge; otherwise it rotates through the announcements, the upcoming meetings and the
// questions answered lately. Vietnamese first, English beneath.
//
// One state machine (board-state.js): `reduceBoard` is pure, `render` draws, `effects`
// does the I/O. The program's session recovers like a hall TV's: back-off and a fresh
// WHEP session, and the socket reconnects by itself after the bridge restarts.

import {
  pageParams, watchWhep, openSocket, backoffDelay, boardFeed, announcementImageUrl,
} from "./protocol.js";
import { bilingual } from "./i18n.js";
import { formatWhen } from "./when.js";
import {
  initialBoard, reduceBoard, boardView, currentSlide, caption, feedDue, slides,
} from "./board-state.js";

const { key } = pageParams();
const $ = (id) => document.getElementById(id);
const ui = {
  video: $("video"), badge: $("live-badge"), caption: $("caption"), tag: $("caption-tag"),
  hall: $("caption-hall"), name: $("caption-name"), topic: $("caption-topic"),
  slides: $("slides"), slide: $("slide"), commune: $("commune"),
  time: $("clock-time"), date: $("clock-date"), socket: $("board-socket"),
};

let state = initialBoard;
/** Read by tests and a technician's console. */
const stats = { log: [] };
window.boardStats = stats;

function dispatch(event) {
  const prev = state;
  state = reduceBoard(prev, { at: Date.now(), ...event });
  if (state !== prev) {
    render(state);
    effects(prev, state);
  }
}

// ---- drawing ----

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A heading in both languages: Vietnamese large, English beneath. */
function both(tag, key, className = "") {
  const [vi, en] = bilingual(key);
  const node = el(tag, `both ${className}`.trim());
  node.append(el("span", "vi", vi));
  const english = el("span", "en", en);
  english.lang = "en";
  node.append(english);
  return node;
}

function drawSlide(slide) {
  const nodes = [];
  if (slide.kind === "announcement") {
    const item = slide.item;
    nodes.push(both("p", "board.announcement", "slide-kind"));
    nodes.push(el("h1", "slide-title", item.title));
    const body = el("div", "slide-body");
    if (item.image) {
      const img = el("img", "slide-image");
      img.alt = "";
      img.src = announcementImageUrl(item.image, key);
      body.append(img);
    }
    // Lines stay lines (CSS pre-line); the text is never read as markup.
    body.append(el("p", "slide-text", item.text));
    nodes.push(body);
  } else if (slide.kind === "meetings") {
    nodes.push(both("h1", "board.upcoming", "slide-title"));
    const items = el("ul", "slide-meetings");
    for (const meeting of slide.items) {
      const li = el("li", "slide-meeting");
      li.append(el("span", "m-when", formatWhen(meeting.starts_at, "vi")));
      li.append(el("strong", "m-title", meeting.title));
      items.append(li);
    }
    nodes.push(items);
  } else if (slide.kind === "answer") {
    const item = slide.item;
    nodes.push(both("p", "board.answers", "slide-kind"));
    nodes.push(el("h1", "slide-title", item.topic));
    const who = [item.hall, item.name].filter(Boolean).join(" · ");
    nodes.push(el("p", "slide-who", who));
    const answer = el("div", "slide-answer");
    answer.append(both("span", "board.answer", "answer-label"));
    answer.append(el("p", "slide-text", item.answer));
    nodes.push(answer);
  } else {
    nodes.push(both("h1", "board.title", "slide-title"));
    nodes.push(both("p", "board.empty", "slide-text"));
  }
  ui.slide.replaceChildren(...nodes);
  ui.slide.dataset.kind = slide.kind;
}

let drawn = null; // the slide on screen, as JSON: redrawn only when it changes

function render(s) {
  const shown = boardView(s);
  const slide = currentSlide(s);
  const line = caption(s);
  Object.assign(stats, {
    view: shown, slide: slide.kind, slides: slides(s).map((x) => x.kind),
    title: slide.item?.title ?? slide.item?.topic ?? null,
    caption: shown === "live" ? [line.hall, line.name, line.topic].filter(Boolean).join(" | ") : null,
    tvState: s.tv.socket === "open" ? s.tv.broadcast?.live ?? null : null,
    sessions: s.tv.sessions, frames: s.tv.frames, socket: s.tv.socket, feedAt: s.feedAt,
  });
  if (stats.log.at(-1)?.view !== shown) {
    stats.log.push({ view: shown, at: Date.now() });
    if (stats.log.length > 50) stats.log.shift();
  }
  document.body.dataset.view = shown;
  ui.commune.textContent = s.commune;
  ui.badge.hidden = shown !== "live";
  ui.caption.hidden = shown !== "live";
  ui.slides.hidden = shown === "live";
  if (shown === "live") {
    const [vi, en] = bilingual(line.speaking ? "board.speaking" : "board.chair");
    ui.tag.textContent = `${vi} · ${en}`;
    ui.hall.textContent = line.hall;
    ui.name.textContent = line.name;
    ui.topic.textContent = line.topic;
  }
  const key = JSON.stringify(slide);
  if (key !== drawn) {
    drawn = key;
    drawSlide(slide);
  }
  ui.socket.hidden = s.tv.socket === "open";
  ui.socket.textContent = bilingual("board.connecting").join(" · ");
}

// ---- effects ----

let running = 0;
let handle = null;
let abort = null;
let startTimer = null;
let fetching = false;

function effects(prev, next) {
  if (next.tv.session.gen !== running) {
    running = next.tv.session.gen;
    stopSession();
    const wait = next.tv.session.wait === null ? 0 : backoffDelay(next.tv.session.wait);
    startTimer = setTimeout(() => startSession(running), wait);
  }
  // The socket came back (perhaps to a restarted bridge): the feed may have changed too.
  if (prev.tv.socket !== "open" && next.tv.socket === "open" && prev.feedAt) refreshFeed();
}

function stopSession() {
  clearTimeout(startTimer);
  abort?.abort();
  abort = null;
  handle?.stop();
  handle = null;
}

async function startSession(gen) {
  const tracks = [];
  abort = new AbortController();
  try {
    const h = await watchWhep({
      key, iceServers: state.tv.iceServers, connection: state.tv.connection, signal: abort.signal,
      layout: "program",
      onTrack: (track, where) => tracks.push({ track, slot: where.slot }),
      onState: (pcState) => dispatch({ type: "pc", gen, state: pcState }),
    });
    if (gen !== running) { h.stop(); return; }
    handle = h;
    const kinds = {};
    for (const { track, slot } of tracks) {
      for (const [name, value] of [["mute", "muted"], ["unmute", "live"], ["ended", "ended"]]) {
        track.addEventListener(name, () => dispatch({ type: "track", gen, kind: track.kind, slot, state: value }));
      }
      kinds[slot] = track.muted ? "muted" : "live";
    }
    dispatch({
      type: "session-up", gen, pc: h.state,
      video: kinds["program-video"] || "none", audio: kinds["program-audio"] || "none",
    });
    // The picture only: a public screen in the commune yard plays no sound.
    ui.video.muted = true;
    ui.video.srcObject = new MediaStream(tracks.filter((x) => x.track.kind === "video").map((x) => x.track));
    ui.video.play().catch(() => {});
  } catch (err) {
    if (gen === running) dispatch({ type: "session-failed", gen, status: err.status, code: err.code });
  }
}

async function refreshFeed() {
  if (fetching) return;
  fetching = true;
  try {
    dispatch({ type: "feed", feed: await boardFeed(key) });
  } catch {
    dispatch({ type: "feed-failed" });
  } finally {
    fetching = false;
  }
}

function watchFrames() {
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const loop = () => { dispatch({ type: "frame" }); ui.video.requestVideoFrameCallback(loop); };
    ui.video.requestVideoFrameCallback(loop);
    return;
  }
  let last = -1;
  setInterval(() => {
    if (!ui.video.paused && ui.video.currentTime !== last) { last = ui.video.currentTime; dispatch({ type: "frame" }); }
  }, 200);
}

function clock() {
  const now = new Date();
  const options = { timeZone: "Asia/Ho_Chi_Minh" };
  ui.time.textContent = now.toLocaleTimeString("vi-VN", { ...options, hour: "2-digit", minute: "2-digit", hour12: false });
  ui.date.textContent = now.toLocaleDateString("vi-VN", { ...options, weekday: "long", day: "numeric", month: "numeric", year: "numeric" });
}

document.documentElement.lang = "vi";
render(state);
clock();
watchFrames();
setInterval(() => {
  clock();
  dispatch({ type: "tick" });
  if (feedDue(state, Date.now(), backoffDelay)) refreshFeed();
}, 1000);
refreshFeed();
openSocket({
  key,
  onMessage: (msg) => dispatch({ type: "message", msg }),
  onStatus: (status) => dispatch({ type: "socket", status }),
});
effects(initialBoard, state); // the first session
addEventListener("pagehide", () => handle?.stop());

window.boardDebug = { refreshFeed };
