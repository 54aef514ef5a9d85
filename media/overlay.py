"""Text drawn onto video frames: Vietnamese needs a TrueType font (cv2.putText has no
diacritics), so Pillow renders each text once, and numpy blends it onto every frame.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from media.canvas import Canvas, rgba_planes

logger = logging.getLogger(__name__)

# Debian's fonts-dejavu-core: it covers every Vietnamese letter.
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
CACHE_SIZE = 64  # texts kept rendered: the clock changes every second, the rest rarely

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> Font:
    """DejaVu at `size` px; Pillow's built-in font when the Debian package is missing."""
    path = BOLD_FONT if bold else FONT
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        logger.warning("%s is missing (apt-get install fonts-dejavu-core): plain font used", path)
        return ImageFont.load_default(size)


@dataclass(frozen=True)
class Line:
    text: str
    size: int
    bold: bool = False
    colour: tuple[int, int, int] = (255, 255, 255)  # RGB


class Overlay:
    """A rendered RGBA picture, ready to blend at (x, y) onto a 4:2:0 Canvas: per plane, the
    colour premultiplied by alpha and the background's remaining weight, as uint16, so a
    blend is one multiply and one add per sample."""

    def __init__(self, rgba: np.ndarray, x: int, y: int) -> None:
        self.x, self.y = x // 2 * 2, y // 2 * 2
        colour, alpha = rgba_planes(rgba)
        self.height, self.width = colour[0].shape
        self._front = [c.astype(np.uint16) * a for c, a in zip(colour, alpha, strict=True)]
        self._keep = [255 - a.astype(np.uint16) for a in alpha]
        self._sums = [np.empty_like(keep) for keep in self._keep]  # blended in place, unallocated

    def blend(self, canvas: Canvas) -> None:
        """Draw onto `canvas` in place, clipped to its edges."""
        for index, (plane, s) in enumerate(zip(canvas.planes, (1, 2, 2), strict=True)):
            x, y = self.x // s, self.y // s
            front, keep = self._front[index], self._keep[index]
            h = min(front.shape[0], plane.shape[0] - y)
            w = min(front.shape[1], plane.shape[1] - x)
            if h <= 0 or w <= 0:
                continue
            region, total = plane[y : y + h, x : x + w], self._sums[index][:h, :w]
            np.multiply(region, keep[:h, :w], out=total)
            total += front[:h, :w]
            total >>= 8
            np.copyto(region, total, casting="unsafe")


class TextPainter:
    """Renders boxes of text once per distinct content and keeps the newest CACHE_SIZE."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[object, ...], Overlay] = OrderedDict()

    def box(
        self,
        lines: tuple[Line, ...],
        x: int,
        y: int,
        width: int | None = None,
        background: tuple[int, int, int, int] = (10, 20, 40, 190),
        pad: int = 12,
    ) -> Overlay:
        """Lines of text on a translucent box whose top-left corner is (x, y); the box is
        `width` wide, or as wide as its longest line."""
        key = (lines, x, y, width, background, pad)
        overlay = self._cache.get(key)
        if overlay is not None:
            self._cache.move_to_end(key)
            return overlay
        overlay = Overlay(_render(lines, width, background, pad), x, y)
        self._cache[key] = overlay
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return overlay


def _render(
    lines: tuple[Line, ...], width: int | None, background: tuple[int, int, int, int], pad: int
) -> np.ndarray:
    measure = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    sizes = [
        measure.textbbox((0, 0), line.text or " ", font=font(line.size, line.bold))
        for line in lines
    ]
    inner = int(max((box[2] for box in sizes), default=0))
    heights = [
        int(max(line.size, box[3])) + line.size // 4 for line, box in zip(lines, sizes, strict=True)
    ]
    box_width = width if width is not None else inner + 2 * pad
    image = Image.new("RGBA", (max(1, box_width), sum(heights) + 2 * pad), background)
    draw = ImageDraw.Draw(image)
    top = pad
    for line, height in zip(lines, heights, strict=True):
        draw.text((pad, top), line.text, font=font(line.size, line.bold), fill=(*line.colour, 255))
        top += height
    return np.asarray(image)
