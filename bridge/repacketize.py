"""Splits an RTP payload that is too large to protect and send into several smaller ones.

A publisher with a large MTU (GStreamer's default 1400, FFmpeg's `pkt_size`)
sends packets that SRTP cannot protect once our header is added, and that
fragment on the way to a hall. The codecs' own fragmentation rules let us
split them without decoding: FU-A for H.264 (RFC 6184), a continuation
descriptor for VP8 (RFC 7741).
"""

from __future__ import annotations

from collections.abc import Callable

from .keyframes import vp8_descriptor_length

# pylibsrtp protects at most 1356 bytes of RTP; with our header and extensions a payload
# up to this size goes through untouched (Chromium and aiortc send at most about 1200).
SPLIT_ABOVE = 1300
# Pieces of a split packet: well inside a 1500-byte path, with room for RTX and SRTP.
PIECE_SIZE = 1200

_H264_STAP_A = 24
_H264_FU_A = 28
_FU_START = 0x80
_FU_END = 0x40

Splitter = Callable[[bytes, int], list[bytes] | None]


def _chunks(data: bytes, size: int) -> list[bytes]:
    count = -(-len(data) // size)  # ceiling division, then equal-ish pieces
    step = -(-len(data) // count)
    return [data[i : i + step] for i in range(0, len(data), step)]


def split_vp8(payload: bytes, limit: int) -> list[bytes] | None:
    """Each piece repeats the descriptor; only the first keeps the start-of-partition bit."""
    head = vp8_descriptor_length(payload)
    if head is None or head >= limit:
        return None
    descriptor, body = payload[:head], payload[head:]
    rest = bytes([descriptor[0] & ~0x10 & 0xFF]) + descriptor[1:]
    pieces = _chunks(body, limit - head)
    return [descriptor + pieces[0]] + [rest + piece for piece in pieces[1:]]


def _h264_nal_pieces(nal: bytes, limit: int) -> list[bytes]:
    """One NAL unit as a single-NAL packet, or as FU-A fragments when it is too long."""
    if len(nal) <= limit:
        return [nal]
    indicator = (nal[0] & 0xE0) | _H264_FU_A
    nal_type = nal[0] & 0x1F
    pieces = _chunks(nal[1:], limit - 2)
    out = []
    for i, piece in enumerate(pieces):
        header = nal_type
        if i == 0:
            header |= _FU_START
        if i == len(pieces) - 1:
            header |= _FU_END
        out.append(bytes([indicator, header]) + piece)
    return out


def split_h264(payload: bytes, limit: int) -> list[bytes] | None:
    """Single NAL units become FU-A fragments, FU-A fragments smaller fragments, and
    STAP-A aggregates their NAL units again. Other packet types are not split."""
    nal_type = payload[0] & 0x1F
    if 1 <= nal_type <= 23:
        return _h264_nal_pieces(payload, limit)
    if nal_type == _H264_FU_A and len(payload) > 2:
        indicator, header, body = payload[0], payload[1], payload[2:]
        pieces = _chunks(body, limit - 2)
        out = []
        for i, piece in enumerate(pieces):
            flags = 0
            if i == 0:
                flags |= header & _FU_START
            if i == len(pieces) - 1:
                flags |= header & _FU_END
            out.append(bytes([indicator, (header & 0x1F) | flags]) + piece)
        return out
    if nal_type == _H264_STAP_A:
        out = []
        i = 1
        while i + 2 <= len(payload):
            size = (payload[i] << 8) | payload[i + 1]
            nal = payload[i + 2 : i + 2 + size]
            if size == 0 or len(nal) != size:
                return None
            out += _h264_nal_pieces(nal, limit)
            i += 2 + size
        return out if i == len(payload) else None
    return None


def splitter(codec_name: str) -> Splitter | None:
    """The splitter for `codec_name`, chosen once per track; None where none is known."""
    return _SPLITTERS.get(codec_name.upper())


_SPLITTERS: dict[str, Splitter] = {"VP8": split_vp8, "H264": split_h264}
