"""Reads the picture a hall TV page shows and judges it against the chair's (tests/pictures.py).

The page's <video> is drawn onto a canvas at its own size and its luma sent
back, undoing the browser's limited-range YUV to RGB expansion, so the same
Picture check that judges aiortc halls judges a Chromium TV.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests.pictures import Picture, Verdict

_LUMA = """() => {
  const video = document.getElementById("video");
  if (!video || video.videoWidth === 0) return null;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const g = canvas.getContext("2d");
  g.drawImage(video, 0, 0);
  const rgba = g.getImageData(0, 0, canvas.width, canvas.height).data;
  const luma = new Array(canvas.width * canvas.height);
  for (let i = 0; i < luma.length; i++) {
    const grey = (rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / 3;
    luma[i] = Math.max(0, Math.min(255, Math.round(grey / 1.164 + 16)));
  }
  return {width: canvas.width, height: canvas.height, luma};
}"""


# How far behind the chair's newest frame a TV's picture may be: 3 s at 30 fps.
LATEST_FRAMES = 90


async def judge_tv(
    page: Any, drawn: Callable[[], int], keep_damaged: Path | None = None
) -> Verdict | None:
    """The verdict on the picture `page` shows now, or None while it shows none.

    `drawn()` is how many frames the chair has drawn (numbered from 0). The picture is
    intact if it is exactly one of the latest LATEST_FRAMES of them, whatever its stamp
    says: a TV shows the stamp through the browser's scaler and colour conversion, and
    a libvpx encoder starved of CPU blurs stamp blocks, so bits get misread. A damaged
    picture is written to `keep_damaged` (a PNG), to see what went wrong.
    """
    newest_before = drawn()
    shown = await page.evaluate(_LUMA)
    if shown is None:
        return None
    width, height = shown["width"], shown["height"]
    luma = np.array(shown["luma"], dtype=np.uint8).reshape(height, width)
    picture = Picture(width, height)
    verdict = picture.judge(luma)  # the stamp first: usually right, and cheap
    latest = range(max(0, newest_before - LATEST_FRAMES), drawn())
    if not verdict.intact or verdict.number not in latest:
        judged = (Verdict(n, verdict.sent_ms, picture.damage(luma, n)) for n in latest)
        verdict = min(judged, key=attrgetter("damage"), default=verdict)
    if keep_damaged is not None and not verdict.intact:
        cv2.imwrite(str(keep_damaged), luma)
    return verdict
