"""Keyframe detection from single RTP payloads, on hand-built VP8 and H.264 packets."""

from __future__ import annotations

from bridge.keyframes import h264_starts_keyframe, keyframe_detector, vp8_starts_keyframe


def test_vp8_key_partition_start_is_a_keyframe() -> None:
    assert vp8_starts_keyframe(bytes([0x10, 0x00, 0x9D, 0x01, 0x2A]))


def test_vp8_delta_frame_is_not_a_keyframe() -> None:
    assert not vp8_starts_keyframe(bytes([0x10, 0x01, 0x00]))


def test_vp8_continuation_packet_is_not_a_keyframe() -> None:
    assert not vp8_starts_keyframe(bytes([0x00, 0x00, 0x9D]))


def test_vp8_with_15_bit_picture_id_and_tl0_is_parsed() -> None:
    # X=1,S=1 | I=1,L=1 | M=1 picture id (2 bytes) | TL0PICIDX | frame tag P=0
    assert vp8_starts_keyframe(bytes([0x90, 0xC0, 0x80, 0x05, 0x07, 0x00]))
    assert not vp8_starts_keyframe(bytes([0x90, 0xC0, 0x80, 0x05, 0x07, 0x01]))


def test_vp8_truncated_payload_is_not_a_keyframe() -> None:
    assert not vp8_starts_keyframe(bytes([0x90, 0x80]))
    assert not vp8_starts_keyframe(b"")


def test_h264_idr_and_sps_start_keyframes() -> None:
    assert h264_starts_keyframe(bytes([0x65, 0x88]))  # IDR
    assert h264_starts_keyframe(bytes([0x67, 0x42]))  # SPS
    assert not h264_starts_keyframe(bytes([0x41, 0x9A]))  # non-IDR slice


def test_h264_stap_a_holding_sps_is_a_keyframe() -> None:
    stap = bytes([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE])
    assert h264_starts_keyframe(stap)
    assert not h264_starts_keyframe(bytes([0x78, 0x00, 0x02, 0x41, 0x9A]))


def test_h264_fu_a_only_first_fragment_of_idr_counts() -> None:
    assert h264_starts_keyframe(bytes([0x7C, 0x85, 0x00]))  # start bit, IDR
    assert not h264_starts_keyframe(bytes([0x7C, 0x05, 0x00]))  # middle fragment
    assert not h264_starts_keyframe(bytes([0x7C, 0x81, 0x00]))  # start of a non-IDR slice


def test_audio_can_always_start() -> None:
    assert keyframe_detector("opus")(b"\x01")
