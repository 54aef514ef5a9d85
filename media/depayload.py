"""The recorder's one reliance on aiortc internals: its RTP depayloaders for VP8 and H.264.

aiortc does not document `vp8_depayload` and `h264_depayload` as its API, so they are
looked up here only; tests/test_depayload.py fails loudly if they move or change.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc.codecs import h264 as _h264
from aiortc.codecs import vpx as _vpx

from bridge.errors import InternalsChanged

Depayloader = Callable[[bytes], bytes]


def _lookup(module: object, name: str) -> Depayloader:
    found = getattr(module, name, None)
    if not callable(found):
        raise InternalsChanged(
            f"aiortc changed: {getattr(module, '__name__', module)} has no {name}; "
            "check media/depayload.py against the installed aiortc"
        )
    return found  # type: ignore[no-any-return]


def depayloader(codec: str) -> Depayloader:
    """The function that turns one RTP payload of `codec` ("vp8", "h264") into its part of
    the frame: VP8 without its payload descriptor, H.264 as Annex B NAL units."""
    name = codec.lower()
    if name == "vp8":
        return _lookup(_vpx, "vp8_depayload")
    if name == "h264":
        return _lookup(_h264, "h264_depayload")
    raise ValueError(f"no depayloader for {codec!r}")


def is_keyframe(codec: str, frame: bytes) -> bool:
    """Whether a whole depayloaded `frame` can be decoded on its own."""
    if not frame:
        return False
    if codec.lower() == "vp8":
        return frame[0] & 0x01 == 0  # the frame tag's inverse keyframe bit
    # H.264 in Annex B: an IDR slice (5) or the SPS (7) that precedes one.
    start = 0
    while True:
        start = frame.find(b"\x00\x00\x01", start)
        if start < 0 or start + 3 >= len(frame):
            return False
        if frame[start + 3] & 0x1F in (5, 7):
            return True
        start += 3
