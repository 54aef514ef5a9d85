"""A 4:2:0 picture composed in place: the encoder's own format, so composing never converts
colour (a 720p BGR↔YUV round trip costs more than the drawing itself). Pictures are
pasted as planes, text is blended as planes; x, y, width and height are even.
"""

from __future__ import annotations

import av
import numpy as np

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]  # Y (h, w), U and V (h/2, w/2)


def yuv(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 limited range, as swscale converts by default."""
    b, g, r = bgr
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return round(y), round(u), round(v)


def rgba_planes(rgba: np.ndarray) -> tuple[Planes, Planes]:
    """An RGBA picture as (colour planes, alpha planes), chroma and its alpha halved."""
    h, w = rgba.shape[0] // 2 * 2, rgba.shape[1] // 2 * 2
    rgba = rgba[:h, :w].astype(np.float32)
    r, g, b, a = (rgba[:, :, i] for i in range(4))
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255

    def half(plane: np.ndarray) -> np.ndarray:
        return plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    a_half = half(a)
    # Chroma is averaged weighted by alpha, so a letter's edge does not tint its box.
    weight = np.maximum(a, 1e-3)
    u_half = half(u * weight) / half(weight)
    v_half = half(v * weight) / half(weight)
    colour = (y, u_half, v_half)
    alpha = (a, a_half, a_half)
    as8 = tuple(np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in colour)
    alpha8 = tuple(np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in alpha)
    return as8, alpha8  # type: ignore[return-value]


class Canvas:
    """One width×height yuv420p buffer with its three planes as views into it."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.buffer = np.empty((height * 3 // 2, width), dtype=np.uint8)
        flat = self.buffer.reshape(-1)
        luma, chroma = width * height, width * height // 4
        self.y = flat[:luma].reshape(height, width)
        self.u = flat[luma : luma + chroma].reshape(height // 2, width // 2)
        self.v = flat[luma + chroma :].reshape(height // 2, width // 2)

    @property
    def planes(self) -> Planes:
        return self.y, self.u, self.v

    def fill(self, bgr: tuple[int, int, int]) -> None:
        y, u, v = yuv(bgr)
        self.y.fill(y)
        self.u.fill(u)
        self.v.fill(v)

    def fill_rect(self, x: int, y: int, w: int, h: int, bgr: tuple[int, int, int]) -> None:
        for plane, value, s in zip(self.planes, yuv(bgr), (1, 2, 2), strict=True):
            plane[y // s : (y + h) // s, x // s : (x + w) // s] = value

    def paste(self, planes: Planes, x: int, y: int) -> None:
        for target, source, s in zip(self.planes, planes, (1, 2, 2), strict=True):
            h, w = source.shape
            target[y // s : y // s + h, x // s : x // s + w] = source

    def frame(self) -> av.VideoFrame:
        return av.VideoFrame.from_ndarray(self.buffer, format="yuv420p")

    def to_bgr(self) -> np.ndarray:
        """For tests and previews only: the picture as BGR."""
        return self.frame().to_ndarray(format="bgr24")


def frame_planes(frame: av.VideoFrame) -> Planes:
    """A yuv420p frame as three arrays (views of its planes, without their padding)."""
    out = []
    for plane in frame.planes:
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(
            plane.height, plane.line_size
        )
        out.append(rows[:, : plane.width])
    return out[0], out[1], out[2]
