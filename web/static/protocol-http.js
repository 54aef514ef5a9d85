// The plain HTTP side of docs/protocol.md: the loudspeaker clusters, the schedule, the
// announcements and the board, the record (minutes, register, access log) and the exports.
// Every call carries the key in the query and goes through `call`, so every failure is a
// ProtocolError: status 0 and code "network" when the bridge was unreachable.

import { ProtocolError } from "./protocol.js";

/** One HTTP call; the parsed JSON body, or null for 204. `body`: an object (sent as JSON)
 * or FormData. */
async function call(method, path, key, body, signal) {
  const url = new URL(path, location.href);
  url.searchParams.set("key", key);
  const init = { method, cache: "no-store", signal };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "Content-Type": "application/json" };
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ProtocolError(String(err?.message || err), 0, "network");
  }
  if (!res.ok) {
    const text = (await res.text()).trim();
    throw new ProtocolError(text || res.statusText, res.status, res.headers.get("X-Error-Code") || "http-" + res.status);
  }
  return res.status === 204 ? null : res.json();
}

/** A link a key may open or download: `path` with the key in its query. */
function keyed(path, key) {
  const url = new URL(path, location.href);
  url.searchParams.set("key", key);
  return url.pathname + url.search;
}

// ---- the loudspeaker clusters ("Loudspeaker clusters") ----

/** Every cluster's state: GET /speakers. */
export const fetchSpeakers = (key, signal) => call("GET", "/speakers", key, undefined, signal);

// ---- the schedule, the announcements and the public board ----

/** The planned meetings still to come: {meetings: [{id, title, starts_at, agenda, due}], now}. */
export const listSchedule = (key) => call("GET", "/schedule", key);
/** Plan a meeting: {title, starts_at (Unix seconds), agenda}. */
export const planMeeting = (key, meeting) => call("POST", "/schedule", key, meeting);
/** Change some fields of a planned meeting. */
export const editPlannedMeeting = (key, id, fields) => call("PATCH", `/schedule/${encodeURIComponent(id)}`, key, fields);
export const removePlannedMeeting = (key, id) => call("DELETE", `/schedule/${encodeURIComponent(id)}`, key);

/** Every announcement, newest first: {announcements: [...], now}. */
export const listAnnouncements = (key) => call("GET", "/announcements", key);
/**
 * Create (id null) or change an announcement. `fields`: title, text, starts_at and
 * ends_at (Unix seconds, or "" for none), image (a File), remove_image (true).
 */
export function saveAnnouncement(key, id, fields) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined || value === null || value === false) continue;
    if (value instanceof Blob) form.append(name, value, value.name || "image");
    else form.append(name, value === true ? "1" : String(value));
  }
  return id ? call("PATCH", `/announcements/${encodeURIComponent(id)}`, key, form)
    : call("POST", "/announcements", key, form);
}
export const removeAnnouncement = (key, id) => call("DELETE", `/announcements/${encodeURIComponent(id)}`, key);
/** A picture link from an announcement, with the key it is fetched with. */
export const announcementImageUrl = (link, key) => keyed(link, key);

/** What the public board rotates through: {announcements, meetings, answers, now}. */
export const boardFeed = (key) => call("GET", "/board/feed", key);

// ---- the record ("The record") ----

/** The question register: {questions, now, due_days, statuses, may_edit}. */
export const fetchRegister = (key) => call("GET", "/register.json", key);
/** Change a register question's name, topic, status or answer; resolves to the row. */
export const saveRegister = (key, meeting, entry, changes) =>
  call("POST", `/register/${encodeURIComponent(meeting)}/${encodeURIComponent(entry)}`, key, changes);
/** The meetings the log holds, newest first: {meetings: [{id, title, opened_at, closed_at}]}. */
export const fetchMeetings = (key) => call("GET", "/meetings", key);
/** The newest lines of the access log: {entries: [{at, role, action, target}]}. */
export const fetchAccessLog = (key) => call("GET", "/access-log", key);
/** Where a key downloads the register, or a meeting's minutes (`kind`: docx, html, json, xlsx, csv). */
export function recordLink(key, kind, meeting = null) {
  const path = meeting ? `/meetings/${encodeURIComponent(meeting)}/minutes.${kind}` : `/register.${kind}`;
  return keyed(path, key);
}

// ---- the secretary's exports ("Exports"); only EXPORT_RECORDS keys get answers ----

export const listExports = (key) => call("GET", "/exports", key);
export const startExport = (meetingId, key) => call("POST", `/meetings/${encodeURIComponent(meetingId)}/export`, key);
export const exportStatus = (exportId, key) => call("GET", `/exports/${encodeURIComponent(exportId)}`, key);
export const exportDownloadUrl = (download, key) => keyed(download, key);
