// The chair console's hall grid: one card per hall with its live camera picture (the
// "chair" WHEP layout: one video per hall, then the speaking hall's audio) and what its TV
// really shows. Cards are made once per hall and updated in place, so the pictures keep
// playing while the state changes around them.

import { watchWhep, backoffDelay } from "./protocol.js";
import { t } from "./i18n.js";

const DISCONNECT_GRACE_MS = 5000;
// Loss and round-trip above these make a hall's link "fair", then "poor".
const LINK_LIMITS = { fair: { loss: 0.02, rtt: 150 }, poor: { loss: 0.05, rtt: 400 } };

/** What the badge says: "watching" only while the hall's TV really shows new pictures. */
function badgeKey(hall) {
  if (hall.state !== "watching") return ["offline", "connected", "lost"].includes(hall.state) ? "hall." + hall.state : null;
  const screen = hall.screen || {};
  if (screen.picture === "moving") return "hall.watching";
  if (screen.picture === "none") return screen.sound === "audible" ? "screen.listening" : "screen.silent";
  if (["frozen", "starting", "off-air"].includes(screen.picture)) return "screen." + screen.picture;
  return "screen.unknown";
}

function linkQuality(link) {
  const rtt = link.rtt_ms ?? 0;
  if (link.loss >= LINK_LIMITS.poor.loss || rtt >= LINK_LIMITS.poor.rtt) return "poor";
  if (link.loss >= LINK_LIMITS.fair.loss || rtt >= LINK_LIMITS.fair.rtt) return "fair";
  return "good";
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function linkLine(link, rendition) {
  const figures = el("div", "link");
  const quality = linkQuality(link);
  figures.dataset.quality = quality;
  const bar = el("span", "link-bar");
  bar.title = t("link." + quality);
  bar.setAttribute("aria-label", t("link." + quality));
  // Which of the camera's two streams the bridge sends this hall (docs/protocol.md).
  const parts = [
    rendition ? t("rendition." + rendition) : null,
    t("link.fps", { fps: link.fps.toFixed(0) }),
    link.width && link.height ? `${link.width}×${link.height}` : null,
    t("link.loss", { loss: (link.loss * 100).toFixed(1) }),
    t("link.jitter", { ms: link.jitter_ms.toFixed(0) }),
    link.rtt_ms === null ? null : t("link.rtt", { ms: link.rtt_ms.toFixed(0) }),
    t("link.rate", { mbps: (link.bitrate_kbps / 1000).toFixed(2) }),
    t("link.level", { level: Math.round(link.audio_level * 100) }),
  ];
  figures.append(bar, el("span", "link-figures", parts.filter(Boolean).join(" · ")));
  return figures;
}

function info(hall, floor) {
  const screen = hall.screen || {};
  const head = el("div", "hall-head");
  const key = badgeKey(hall);
  const badge = el("span", "badge", key ? t(key) : String(hall.state));
  badge.dataset.says = key || "";
  head.append(el("span", "hall-name", hall.name || hall.id), badge);
  const parts = [head];
  const tags = el("div", "hall-tags");
  if (floor.hall === hall.id) tags.append(el("span", "tag speaking", t("hall.speaking")));
  if (floor.raised.has(hall.id)) tags.append(el("span", "tag raised", t("hall.raised")));
  if (floor.muted.has(hall.id)) tags.append(el("span", "tag muted", t("hall.muted")));
  if (tags.childElementCount) parts.push(tags);
  const warnings = hall.state === "watching"
    ? [screen.picture === "frozen" && "warn.frozen", screen.sound === "silent" && "warn.silent"].filter(Boolean)
    : [];
  for (const warning of warnings) {
    const p = el("p", "warning", t(warning));
    p.dataset.warning = warning.slice(5);
    p.setAttribute("role", "alert");
    parts.push(p);
  }
  if (hall.state === "watching" && screen.link) parts.push(linkLine(screen.link, hall.rendition));
  return parts;
}

/**
 * The grid in `list`, with the speaking hall's sound in `audio`. `render(halls, floor)` takes
 * the state message's halls and {hall, muted: Set, raised: Set}; `connect(...)` passes the
 * socket's welcome (ICE servers and connection id) once known.
 */
export function createGrid({ list, audio, key }) {
  const cards = new Map(); // hall id → {li, video, info}
  let ids = []; // the hall ids the session's video sections stand for, in config order
  let configured = false; // ids came from welcome.halls, the bridge's own order
  let link = null; // {iceServers, connection}, from welcome
  let gen = 0;
  let attempt = 0;
  let handle = null;
  let abort = null;
  let timer = null;
  let graceTimer = null;
  const stats = { sessions: 0, slots: [] };

  function card(hall) {
    let c = cards.get(hall.id);
    if (c) return c;
    const li = el("li", "hall-card");
    li.dataset.hall = hall.id;
    const video = el("video", "hall-video");
    Object.assign(video, { autoplay: true, playsInline: true, muted: true });
    video.setAttribute("aria-label", hall.name || hall.id);
    const box = el("div", "hall-info");
    li.append(video, box);
    c = { li, video, info: box };
    cards.set(hall.id, c);
    return c;
  }

  function restart(wait) {
    gen++;
    clearTimeout(timer);
    clearTimeout(graceTimer);
    abort?.abort();
    handle?.stop();
    handle = null;
    if (!link || ids.length === 0) return;
    const mine = gen;
    timer = setTimeout(() => start(mine), wait ? backoffDelay(attempt++) : 0);
  }

  async function start(mine) {
    abort = new AbortController();
    const got = [];
    try {
      const h = await watchWhep({
        key, layout: "chair", halls: ids, iceServers: link.iceServers, connection: link.connection,
        signal: abort.signal,
        onTrack: (track, where) => got.push({ track, slot: where.slot }),
        onState: (state) => { if (mine === gen) onPc(state); },
      });
      if (mine !== gen) { h.stop(); return; }
      handle = h;
      stats.sessions++;
      stats.slots = got.map((g) => g.slot);
      for (const { track, slot } of got) {
        const player = slot === "floor-audio" ? audio : cards.get(slot.slice("hall-video:".length))?.video;
        if (!player) continue;
        player.srcObject = new MediaStream([track]);
        player.play().catch(() => {});
      }
    } catch {
      if (mine === gen) restart(true);
    }
  }

  function onPc(state) {
    clearTimeout(graceTimer);
    if (state === "connected") attempt = 0;
    else if (state === "failed") restart(true);
    // The bridge cannot restart ICE: a longer outage needs a fresh session.
    else if (state === "disconnected") graceTimer = setTimeout(() => restart(true), DISCONNECT_GRACE_MS);
  }

  return {
    stats,
    /** The welcome: ICE servers, our socket's id, and the halls in config order. */
    connect(iceServers, connection, halls) {
      const first = link === null;
      link = { iceServers, connection };
      const given = Array.isArray(halls) ? halls.map((h) => h.id) : [];
      if (given.length && given.join() !== ids.join()) {
        ids = given;
        configured = true;
        restart(false);
      } else if (first) restart(false);
    },
    render(halls, floor) {
      if (!Array.isArray(halls) || halls.length === 0) return;
      const nextIds = halls.map((h) => h.id);
      const lis = halls.map((hall) => {
        const c = card(hall);
        const screen = hall.screen || {};
        Object.assign(c.li.dataset, {
          state: hall.state, picture: screen.picture || "unknown", sound: screen.sound || "unknown",
          rendition: hall.rendition || "", speaking: String(floor.hall === hall.id),
          muted: String(floor.muted.has(hall.id)),
        });
        c.info.replaceChildren(...info(hall, floor));
        return c.li;
      });
      // Taking a playing <video> out of the page pauses it: move cards only when needed.
      const shown = [...list.children];
      if (shown.length !== lis.length || shown.some((li, i) => li !== lis[i])) {
        list.replaceChildren(...lis);
        for (const c of cards.values()) if (c.video.srcObject) c.video.play().catch(() => {});
      }
      // A different set of halls is a different layout: the bridge names slots by position.
      // The welcome's list is the bridge's config order; the state's is the fallback.
      if (!configured && nextIds.join() !== ids.join()) {
        ids = nextIds;
        restart(false);
      }
    },
    /** A fresh session, e.g. after the bridge restarted or changed the codec. */
    rejoin() { restart(false); },
    stop() { gen++; clearTimeout(timer); abort?.abort(); handle?.stop(); handle = null; },
  };
}
