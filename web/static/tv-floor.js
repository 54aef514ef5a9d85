// Draws the floor on the TV page: the picture layout, the lower third naming who speaks,
// this hall's raise/lower buttons and place in the queue, its own turn with the timer,
// and the dialogs. All text from people (names, topics, hall names) goes in as textContent.

import { floorClock, speakerLines } from "./floor.js";
import { layoutOf, ownHand, publishing } from "./tv-state.js";
import { t, describeWireError, describeError } from "./i18n.js";
import { keepFocusIn } from "./remote.js";

const $ = (id) => document.getElementById(id);

export function floorElements() {
  return {
    floorVideo: $("floor-video"), slidesVideo: $("slides-video"), preview: $("preview"),
    lowerThird: $("lower-third"), ltHall: $("lt-hall"), ltName: $("lt-name"), ltTopic: $("lt-topic"),
    ownFloor: $("own-floor"), ownTimer: $("own-timer"), ownMuted: $("own-muted"),
    bar: $("floor-bar"), place: $("queue-place"), raise: $("raise"), lower: $("lower"),
    detailsOpen: $("details-open"), end: $("end"),
    pubStatus: $("pub-status"), notice: $("notice"),
    consent: $("consent"), consentYes: $("consent-yes"), consentNo: $("consent-no"),
    details: $("details"), name: $("name"), topic: $("topic"), detailsSend: $("details-send"),
    detailsCancel: $("details-cancel"),
  };
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** The element the remote's focus must stay in now: the open dialog, else the floor bar. */
export function focusScope(s, ui) {
  if (s.dialog === "consent") return ui.consent;
  if (s.dialog === "details") return ui.details;
  return ui.bar.hidden ? null : ui.bar;
}

let drawn = null; // the inputs of the last drawing

/**
 * Draw everything floor-related for state `s` at local time `nowMs`. The page renders on
 * every video frame, so this does nothing unless its inputs changed, or `force` (the
 * once-a-second clock) asks for the timer to move.
 */
export function renderFloor(s, ui, nowMs, force = false) {
  const inputs = [s.floor, s.queue, s.meeting, s.dialog, s.notice, s.pub, s.pubPc, s.pubError,
    s.pubAttempt, s.ownHall, s.mayRaise, s.layout, s.slides, s.slidesVideo];
  if (!force && drawn && inputs.every((v, i) => v === drawn[i])) return;
  drawn = inputs;
  const layout = layoutOf(s);
  document.body.dataset.layout = layout;

  const speaker = layout === "own" ? null : speakerLines(s.floor);
  ui.lowerThird.hidden = !speaker || (layout === "chair" && s.floor?.live === false);
  if (speaker) {
    setText(ui.ltHall, speaker.hall);
    setText(ui.ltName, speaker.name);
    setText(ui.ltTopic, speaker.topic);
    ui.ltTopic.hidden = !speaker.topic;
  }

  const mine = layout === "own";
  ui.ownFloor.hidden = !mine;
  if (mine) {
    const clock = floorClock(s.floor, s.offset, nowMs);
    setText(ui.ownTimer, clock ? clock.text : "");
    ui.ownTimer.dataset.warn = clock ? clock.warn : "";
    ui.ownMuted.hidden = !s.floor.muted;
  }

  // Only a hall's TV takes part, and only while a meeting is open to raise a hand in.
  const hallTv = s.layout === "hall" && s.ownHall !== null;
  ui.bar.hidden = !hallTv || !s.mayRaise || !s.meeting;
  const hand = ownHand(s);
  ui.raise.hidden = mine || Boolean(hand);
  ui.detailsOpen.hidden = mine || Boolean(hand);
  ui.lower.hidden = mine || !hand;
  ui.end.hidden = !mine;
  ui.place.hidden = !hand;
  if (hand) setText(ui.place, t("floor.place", { n: hand.position ?? s.queue.indexOf(hand) + 1 }));
  ui.bar.dataset.hand = hand ? hand.id : "";

  const pub = publishing(s);
  ui.pubStatus.dataset.state = pub;
  ui.pubStatus.hidden = !hallTv || pub === "live" || pub === "off" || pub === "starting";
  if (!ui.pubStatus.hidden) {
    const detail = pub === "retrying" && s.pubError ? " " + describeError({ code: s.pubError, name: s.pubError }) : "";
    setText(ui.pubStatus, t("pub." + pub) + detail);
  }

  ui.notice.hidden = !s.notice;
  if (s.notice) setText(ui.notice, describeWireError(s.notice.code));

  ui.consent.hidden = s.dialog !== "consent";
  ui.details.hidden = s.dialog !== "details";
  // The dialogs are modal: the rest of the page is out of the remote's reach meanwhile.
  ui.bar.inert = Boolean(s.dialog);

  const scope = focusScope(s, ui);
  const preferred = s.dialog === "consent" ? ui.consentYes
    : s.dialog === "details" ? ui.name
    : mine ? ui.end : hand ? ui.lower : ui.raise;
  keepFocusIn(scope, preferred);
}
