"""Reads the picture a hall TV page shows and judges it against the chair's (tests/pictures.py).

The page's <video> is drawn onto a canvas at its own size and its luma sent
back, undoing the browser's limited-range YUV to RGB expansion, so the same
Picture check that judges aiortc halls judges a Chromium TV.
"""

from __future__ import annotations

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


async def judge_tv(page: Any, keep_damaged: Path | None = None) -> Verdict | None:
    """The verdict on the picture `page` shows now, or None while it shows none. A damaged
    picture is written to `keep_damaged` (a PNG), to see what went wrong."""
    shown = await page.evaluate(_LUMA)
    if shown is None:
        return None
    width, height = shown["width"], shown["height"]
    luma = np.array(shown["luma"], dtype=np.uint8).reshape(height, width)
    # judge(), not read(): a stamp bit smeared by a low bitrate must not pass for damage.
    verdict = Picture(width, height).judge(luma)
    if keep_damaged is not None and not verdict.intact:
        cv2.imwrite(str(keep_damaged), luma)
    return verdict
