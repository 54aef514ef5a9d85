"""The recorder's one reliance on aiortc internals (media/depayload.py): its VP8 and H.264
depayloaders. If aiortc moves or changes them, these fail loudly, naming the module to fix."""

from __future__ import annotations

import pytest
from aiortc.codecs import h264 as aiortc_h264
from aiortc.codecs import vpx as aiortc_vpx

from bridge.errors import InternalsChanged
from media import depayload
from media.depayload import depayloader, is_keyframe
from tests.pictures import Picture
from tests.recorded_media import video_packets


@pytest.mark.parametrize("codec", ["vp8", "h264"])
def test_depayloaded_packets_of_a_frame_join_into_the_encoded_frame(codec: str) -> None:
    packets = video_packets(codec, Picture(320, 240), range(3), 10)
    first_frame = [p.payload for _, p in packets if p.timestamp == packets[0][1].timestamp]
    frame = b"".join(depayloader(codec)(payload) for payload in first_frame)
    assert is_keyframe(codec, frame)  # aiortc's encoder starts with a keyframe
    if codec == "h264":
        assert frame.startswith(b"\x00\x00\x00\x01")  # Annex B, as Matroska's muxer takes it
    later = [p.payload for _, p in packets if p.timestamp == packets[-1][1].timestamp]
    assert not is_keyframe(codec, b"".join(depayloader(codec)(x) for x in later))


def test_the_aiortc_functions_it_names_are_there() -> None:
    assert callable(aiortc_vpx.vp8_depayload)
    assert callable(aiortc_h264.h264_depayload)


def test_a_vanished_depayloader_is_reported_as_internals_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(aiortc_vpx, "vp8_depayload")
    with pytest.raises(InternalsChanged, match="media/depayload.py"):
        depayload.depayloader("vp8")


def test_a_codec_it_cannot_depayload_is_refused() -> None:
    with pytest.raises(ValueError):
        depayloader("av1")
