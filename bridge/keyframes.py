"""Tells, from one RTP payload, whether it starts a keyframe (VP8, H.264).

A new or lagging subscriber can only start decoding at a keyframe, so the
bridge must find keyframe starts without decoding anything.
"""

from __future__ import annotations

from collections.abc import Callable

_H264_IDR = 5
_H264_SPS = 7
_H264_STAP_A = 24
_H264_FU_A = 28


def vp8_descriptor_length(payload: bytes) -> int | None:
    """Bytes of the VP8 payload descriptor (RFC 7741 4.2) at the start of `payload`,
    or None when the payload ends inside it."""
    i = 1
    if payload[0] & 0x80:  # X: an extension byte follows
        if len(payload) < 2:
            return None
        ext = payload[1]
        i = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if i >= len(payload):
                return None
            i += 2 if payload[i] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            i += 1
        if ext & 0x30:  # T or K: TID/KEYIDX byte
            i += 1
    return i if i < len(payload) else None


def vp8_starts_keyframe(payload: bytes) -> bool:
    """RFC 7741: first packet of partition 0 (S=1, PID=0) whose frame tag has P=0."""
    if len(payload) < 2:
        return False
    first = payload[0]
    if not first & 0x10 or first & 0x07:  # S bit clear, or not partition 0
        return False
    i = vp8_descriptor_length(payload)
    return i is not None and not payload[i] & 0x01


def h264_starts_keyframe(payload: bytes) -> bool:
    """RFC 6184: an SPS or IDR NAL unit, alone, aggregated (STAP-A) or as a first fragment."""
    if not payload:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type in (_H264_IDR, _H264_SPS):
        return True
    if nal_type == _H264_STAP_A:
        i = 1
        while i + 2 < len(payload):
            size = (payload[i] << 8) | payload[i + 1]
            if size == 0:
                return False
            if payload[i + 2] & 0x1F in (_H264_IDR, _H264_SPS):
                return True
            i += 2 + size
        return False
    if nal_type == _H264_FU_A and len(payload) >= 2:
        fu_header = payload[1]
        return bool(fu_header & 0x80) and (fu_header & 0x1F) in (_H264_IDR, _H264_SPS)
    return False


def keyframe_detector(codec_name: str) -> Callable[[bytes], bool]:
    """The test for "a decoder of `codec_name` can start here", chosen once per track.
    Audio can start anywhere."""
    return _DETECTORS.get(codec_name.upper(), _always)


def _always(payload: bytes) -> bool:
    return True


_DETECTORS: dict[str, Callable[[bytes], bool]] = {
    "VP8": vp8_starts_keyframe,
    "H264": h264_starts_keyframe,
}
