// The public board's state machine (board.js draws it and does its I/O). Pure: socket
// messages, track events, feed answers and timer ticks come in as events with `at`.
// The program's session is the hall TV's own machine (tv-state.js), kept under `tv`; the
// board adds the feed it rotates through between meetings, and which slide shows.

import { initialState as tvInitial, reduce as reduceTv, view as tvView } from "./tv-state.js";
import { speakerLines } from "./floor.js";

export const SLIDE_MS = 12000; // each announcement, the schedule and each answer stay this long
export const FEED_EVERY_MS = 60000; // the feed is fetched again this often

export const initialBoard = Object.freeze({
  tv: { ...tvInitial, layout: "program" },
  commune: "",
  // What the board rotates through between meetings, from /board/feed.
  feed: { announcements: [], meetings: [], answers: [] },
  feedAt: 0, // when the feed last arrived; 0: never
  feedTriedAt: 0, // when the last fetch ended, well or not
  feedAttempt: 0, // failures in a row, for the back-off
  slide: 0, // index into slides(state)
  slideSince: 0,
});

const list = (value) => (Array.isArray(value) ? value : []);

/** The next state after `event`. */
export function reduceBoard(s, event) {
  let next = s;
  switch (event.type) {
    case "feed": {
      const feed = {
        announcements: list(event.feed?.announcements), meetings: list(event.feed?.meetings),
        answers: list(event.feed?.answers),
      };
      next = { ...s, feed, feedAt: event.at, feedTriedAt: event.at, feedAttempt: 0 };
      const count = slides(next).length;
      if (next.slide >= count) next = { ...next, slide: 0, slideSince: event.at };
      return next;
    }
    case "feed-failed":
      return { ...s, feedAttempt: s.feedAttempt + 1, feedTriedAt: event.at };
    case "message":
      if (event.msg?.type === "welcome") next = { ...s, commune: String(event.msg.commune || "") };
      break;
    case "tick":
      if (event.at - s.slideSince >= SLIDE_MS) {
        const count = slides(s).length;
        next = { ...s, slide: count ? (s.slide + 1) % count : 0, slideSince: event.at };
      }
      break;
    default:
      break;
  }
  const tv = reduceTv(next.tv, event);
  return tv === next.tv ? next : { ...next, tv };
}

/**
 * The slides between meetings, in order: each announcement, then the upcoming meetings
 * (one slide), then each answered question. The answers section is left out when empty.
 */
export function slides(s) {
  const out = s.feed.announcements.map((item) => ({ kind: "announcement", item }));
  if (s.feed.meetings.length) out.push({ kind: "meetings", items: s.feed.meetings });
  for (const item of s.feed.answers) out.push({ kind: "answer", item });
  return out.length ? out : [{ kind: "empty" }];
}

/** The slide on screen now. */
export function currentSlide(s) {
  const all = slides(s);
  return all[Math.min(s.slide, all.length - 1)];
}

/**
 * What the board shows, named: "live" (the program, sound off, with captions and the
 * Live badge) while the meeting's picture (or sound) is on; otherwise "board".
 */
export function boardView(s) {
  const shown = tvView(s.tv);
  return shown === "live" || shown === "audio" ? "live" : "board";
}

/** The caption under the live picture: who has the floor, else the chair and the meeting. */
export function caption(s) {
  const speaker = speakerLines(s.tv.floor);
  if (speaker) return { speaking: true, ...speaker };
  return { speaking: false, hall: "", name: "", topic: String(s.tv.meeting?.title || "") };
}

/** Whether the feed should be fetched now, at `at` (ms). */
export function feedDue(s, at, backoff) {
  if (s.feedAttempt > 0) return at - s.feedTriedAt >= backoff(s.feedAttempt - 1);
  return at - s.feedTriedAt >= FEED_EVERY_MS;
}
