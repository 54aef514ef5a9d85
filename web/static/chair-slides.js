// The chair's shared screen ("Chia sẻ màn hình"): a second stream beside the camera, which
// the halls and the program show large while no hall speaks. One state: off | starting | on.

import { publishWhip } from "./protocol.js";
import { t, describeError } from "./i18n.js";

/**
 * Wire the share and unshare buttons. `context()` gives the page's current { key,
 * connection, iceServers }; `showError(text)` shows a line the chair must read.
 */
export function createSlides({ share, unshare, context, showError }) {
  let phase = "off";
  let stream = null;
  let handle = null;
  let abort = null;

  function render() {
    share.hidden = phase !== "off";
    unshare.hidden = phase === "off";
    document.body.dataset.slides = phase;
  }

  function stop(errorText = "") {
    abort?.abort();
    handle?.stop();
    stream?.getTracks().forEach((track) => track.stop());
    stream = handle = abort = null;
    phase = "off";
    render();
    if (errorText) showError(errorText);
  }

  async function start() {
    if (phase !== "off") return;
    phase = "starting";
    render();
    try {
      if (!navigator.mediaDevices?.getDisplayMedia) throw Object.assign(new Error("insecure"), { name: "insecure" });
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
      // The browser's own "Stop sharing" bar ends the track: end the share with it.
      stream.getVideoTracks()[0].addEventListener("ended", () => stop());
      abort = new AbortController();
      const { key, connection, iceServers } = context();
      handle = await publishWhip({
        key, stream, connection, iceServers, signal: abort.signal, profile: "slides", source: "slides",
        onState: (state) => { if (state === "failed") stop(t("slides.lost")); },
      });
      phase = "on";
      render();
    } catch (err) {
      if (err?.name === "NotAllowedError" || err?.name === "AbortError") stop(); // the chair said no
      else stop(describeError(err));
    }
  }

  share.addEventListener("click", start);
  unshare.addEventListener("click", () => stop());
  render();
  return { stop, get phase() { return phase; } };
}
