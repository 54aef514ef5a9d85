"""Oversized payloads split by the codecs' own rules, checked with aiortc's own depacketizers."""

from __future__ import annotations

import os

from aiortc.codecs.h264 import H264PayloadDescriptor
from aiortc.codecs.vpx import VpxPayloadDescriptor

from bridge.keyframes import h264_starts_keyframe, vp8_starts_keyframe
from bridge.repacketize import split_h264, split_vp8, splitter

LIMIT = 1200


def _h264_stream(pieces: list[bytes]) -> bytes:
    """What a depacketizer makes of the pieces, in order: Annex B NAL units."""
    return b"".join(H264PayloadDescriptor.parse(piece)[1] for piece in pieces)


def test_an_oversized_h264_nal_unit_becomes_fu_a_fragments_that_rebuild_it() -> None:
    idr = bytes([0x65]) + os.urandom(3000)
    pieces = split_h264(idr, LIMIT)
    assert pieces is not None and len(pieces) == 3
    assert all(len(piece) <= LIMIT for piece in pieces)
    assert _h264_stream(pieces) == _h264_stream([idr])
    assert h264_starts_keyframe(pieces[0]) and not h264_starts_keyframe(pieces[1])


def test_an_oversized_fu_a_fragment_is_cut_into_smaller_fragments() -> None:
    nal = bytes([0x41]) + os.urandom(4000)  # a non-IDR slice, fragmented by the publisher
    body = nal[1:]
    fragments = [
        bytes([0x5C, 0x80 | 1]) + body[:1450],
        bytes([0x5C, 0x00 | 1]) + body[1450:2900],
        bytes([0x5C, 0x40 | 1]) + body[2900:],
    ]
    pieces = [piece for fragment in fragments for piece in (split_h264(fragment, LIMIT) or [])]
    assert len(pieces) == 5 and all(len(piece) <= LIMIT for piece in pieces)
    starts = [piece[1] & 0x80 for piece in pieces]
    ends = [piece[1] & 0x40 for piece in pieces]
    assert starts == [0x80, 0, 0, 0, 0] and ends == [0, 0, 0, 0, 0x40]
    assert _h264_stream(pieces) == _h264_stream([nal])


def test_an_oversized_stap_a_gives_its_nal_units_back_one_by_one() -> None:
    sps, pps, idr = bytes([0x67]) + b"\x42" * 10, bytes([0x68]) + b"\xce" * 4, bytes([0x65]) * 1400
    stap = bytes([0x78]) + b"".join(len(n).to_bytes(2, "big") + n for n in (sps, pps, idr))
    pieces = split_h264(stap, LIMIT)
    assert pieces is not None and pieces[:2] == [sps, pps] and len(pieces) == 4
    assert _h264_stream(pieces) == _h264_stream([sps, pps, idr])


def test_a_truncated_stap_a_is_refused_not_guessed() -> None:
    assert split_h264(bytes([0x78, 0x05, 0x00]) + b"\x65" * 1400, LIMIT) is None


def test_an_oversized_vp8_packet_repeats_its_descriptor_without_the_start_bit() -> None:
    # X=1, S=1, PID 0; I=1 with a 15-bit picture id; keyframe (P=0) payload header.
    descriptor = bytes([0x90, 0x80, 0x81, 0x23])
    payload = descriptor + bytes([0x10]) + os.urandom(2999)
    pieces = split_vp8(payload, LIMIT)
    assert pieces is not None and len(pieces) == 3
    assert all(len(piece) <= LIMIT for piece in pieces)
    parsed = [VpxPayloadDescriptor.parse(piece) for piece in pieces]
    assert [d.partition_start for d, _ in parsed] == [1, 0, 0]
    assert {d.picture_id for d, _ in parsed} == {0x0123}
    assert b"".join(data for _, data in parsed) == VpxPayloadDescriptor.parse(payload)[1]
    assert vp8_starts_keyframe(pieces[0]) and not vp8_starts_keyframe(pieces[1])


def test_codecs_without_a_splitter_say_so() -> None:
    assert splitter("opus") is None and splitter("vp8") is split_vp8
