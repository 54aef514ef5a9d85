"""A test camera and microphone per page, and probes of what a page receives.

Each page gets a camera of its own colour with a white bar sweeping across it
(so a moving picture can be told from a frozen one) and a microphone that plays
a sine tone of its own frequency. The probes read a <video> element's picture
and a received audio track's spectrum (WebAudio AnalyserNode), in the page.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Device:
    colour: tuple[int, int, int]
    tone_hz: float


FAKE_DEVICES = """(() => {
  const spec = %s;
  const media = navigator.mediaDevices;
  if (!media) return;
  let audio = null;
  const camera = (colour) => {
      const canvas = document.createElement("canvas");
      canvas.width = 640;
      canvas.height = 360;
      const g = canvas.getContext("2d");
      let x = 0;
      const draw = () => {
        g.fillStyle = `rgb(${colour.join(",")})`;
        g.fillRect(0, 0, 640, 360);
        g.fillStyle = "#ffffff";
        g.fillRect(x, 0, 64, 360);
        x = (x + 12) %% 576;
      };
      draw();
      setInterval(draw, 40);
      return canvas.captureStream(25).getVideoTracks()[0];
  };
  // A shared screen, when the spec names one: the same moving bar on its own colour.
  if (spec.screen) media.getDisplayMedia = async () => new MediaStream([camera(spec.screen)]);
  media.getUserMedia = async (constraints = {}) => {
    const tracks = [];
    if (constraints.video) tracks.push(camera(spec.colour));
    if (constraints.audio) {
      audio ??= new AudioContext();
      const osc = audio.createOscillator();
      osc.frequency.value = spec.tone_hz;
      const gain = audio.createGain();
      gain.gain.value = 0.5;
      const out = audio.createMediaStreamDestination();
      osc.connect(gain).connect(out);
      osc.start();
      tracks.push(out.stream.getAudioTracks()[0]);
    }
    return new MediaStream(tracks);
  };
})();"""


def fake_devices(device: Device, screen: Device | None = None) -> str:
    """The init script that gives a page `device` as its camera and microphone, and
    `screen`'s colour as the screen it shares."""
    spec = {"colour": list(device.colour), "tone_hz": device.tone_hz}
    if screen is not None:
        spec["screen"] = list(screen.colour)
    return FAKE_DEVICES % json.dumps(spec)


# The mean colour of the picture without the white bar, and the column the bar is in.
_PICTURE = """(selector) => {
  const video = document.querySelector(selector);
  if (!video || video.videoWidth === 0) return null;
  const w = 128, h = 72;
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext("2d");
  g.drawImage(video, 0, 0, w, h);
  const d = g.getImageData(0, 0, w, h).data;
  const sum = [0, 0, 0];
  const columns = new Array(w).fill(0);
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 4 * (y * w + x);
      columns[x] += d[i] + d[i + 1] + d[i + 2];
      if (d[i] > 190 && d[i + 1] > 190 && d[i + 2] > 190) continue;
      sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2];
      n++;
    }
  }
  return { colour: n ? sum.map((v) => Math.round(v / n)) : null,
           bar: columns.indexOf(Math.max(...columns)) };
}"""

# The level (dB) at `hz` of the audio track in `selector`'s srcObject, and the median level,
# measured over a short window on a fresh analyser.
_TONE = """async ([selector, hz]) => {
  const el = document.querySelector(selector);
  const track = el && el.srcObject ? el.srcObject.getAudioTracks()[0] : null;
  if (!track) return null;
  const ctx = new AudioContext();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 4096;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  const bins = new Float32Array(analyser.frequencyBinCount);
  const binHz = ctx.sampleRate / analyser.fftSize;
  const target = Math.round(hz / binHz);
  let best = -200;
  let median = -200;
  for (let i = 0; i < 6; i++) {
    await new Promise((done) => setTimeout(done, 120));
    analyser.getFloatFrequencyData(bins);
    const at = Math.max(...[-2, -1, 0, 1, 2].map((k) => bins[target + k]));
    const sorted = Array.from(bins).sort((a, b) => a - b);
    const m = sorted[sorted.length >> 1];
    if (Number.isFinite(at) && at > best) { best = at; median = Number.isFinite(m) ? m : -200; }
  }
  source.disconnect();
  await ctx.close();
  return { level: Math.max(best, -200), median: Math.max(median, -200) };
}"""


async def picture(page: Any, selector: str) -> dict[str, Any] | None:
    result: dict[str, Any] | None = await page.evaluate(_PICTURE, selector)
    return result


def _near(colour: list[int] | None, expected: tuple[int, int, int]) -> bool:
    return colour is not None and all(
        abs(a - b) <= 50 for a, b in zip(colour, expected, strict=True)
    )


async def wait_for_moving_picture(
    page: Any, selector: str, device: Device, timeout: float = 20.0
) -> None:
    """Until `selector` shows `device`'s colour with its bar in two different places."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any] | None] = []
    bars: set[int] = set()
    while time.monotonic() < deadline:
        shown = await picture(page, selector)
        seen.append(shown)
        if shown is not None and _near(shown["colour"], device.colour):
            bars.add(shown["bar"])
            if len(bars) >= 2:
                return
        await asyncio.sleep(0.25)
    raise AssertionError(f"{selector} never showed {device} moving; saw {seen[-5:]}")


async def tone(page: Any, selector: str, hz: float) -> dict[str, float] | None:
    result: dict[str, float] | None = await page.evaluate(_TONE, [selector, hz])
    return result


def audible(level: dict[str, float] | None) -> bool:
    """A clear tone: well above silence and well above the rest of the spectrum."""
    return level is not None and level["level"] > -70 and level["level"] - level["median"] > 25


async def wait_for_tone(
    page: Any, selector: str, hz: float, present: bool, timeout: float = 15.0
) -> None:
    """Until the tone is heard, or (present=False) not heard in two readings running."""
    deadline = time.monotonic() + timeout
    levels: list[dict[str, float] | None] = []
    needed = 1 if present else 2
    run = 0
    while time.monotonic() < deadline:
        level = await tone(page, selector, hz)
        levels.append(level)
        run = run + 1 if audible(level) == present else 0
        if run >= needed:
            return
        await asyncio.sleep(0.2)
    word = "never heard" if present else "still heard"
    raise AssertionError(f"{selector}: {hz} Hz {word}; levels {levels[-4:]}")


# Every element that shows text, and lies (partly) in the 5 % margin a TV's overscan crops.
_OUTSIDE_OVERSCAN = """() => {
  const mx = innerWidth * 0.05, my = innerHeight * 0.05;
  const outside = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.getClientRects().length === 0) continue;
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!text || style.visibility === "hidden" || style.opacity === "0") continue;
    const r = el.getBoundingClientRect();
    if (r.left < mx - 1 || r.top < my - 1 || r.right > innerWidth - mx + 1
        || r.bottom > innerHeight - my + 1) outside.push(el.id || el.className || el.tagName);
  }
  return outside;
}"""


async def text_outside_overscan(page: Any) -> list[str]:
    """What text `page` shows where a TV may crop it (should be nothing)."""
    result: list[str] = await page.evaluate(_OUTSIDE_OVERSCAN)
    return result
