"""Offers as third-party clients write them: the DTLS role the bridge takes, and clear refusals."""

from __future__ import annotations

import pytest

from bridge.errors import BadOffer
from bridge.offers import read_offer

FINGERPRINT = "a=fingerprint:sha-256 " + ":".join(["AB"] * 32)


def offer(setup_lines: dict[str, str | None], session_setup: str | None = None) -> str:
    """An audio+video offer; `setup_lines` gives each section's a=setup value (None: no line)."""
    lines = [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        FINGERPRINT,
    ]
    if session_setup is not None:
        lines.append(f"a=setup:{session_setup}")
    for mid, (kind, codec) in enumerate((("audio", "opus/48000/2"), ("video", "VP8/90000"))):
        pt = 111 if kind == "audio" else 96
        lines += [
            f"m={kind} 9 UDP/TLS/RTP/SAVPF {pt}",
            "c=IN IP4 0.0.0.0",
            "a=ice-ufrag:abcd",
            "a=ice-pwd:abcdefghijklmnopqrstuvwx",
            f"a=mid:{mid}",
            "a=sendrecv",
            "a=rtcp-mux",
            f"a=rtpmap:{pt} {codec}",
        ]
        value = setup_lines.get(kind)
        if value is not None:
            lines.append(f"a=setup:{value}")
    return "\r\n".join(lines) + "\r\n"


def roles(text: str) -> list[str | None]:
    return [m.dtls.role if m.dtls else None for m in read_offer(text).sections]


def test_an_actpass_offer_is_handed_to_aiortc_as_active_so_the_bridge_is_the_dtls_server() -> None:
    checked = read_offer(offer({"audio": "actpass", "video": "actpass"}))
    assert checked.setup == "actpass"
    assert "a=setup:actpass" not in checked.sdp
    assert [m.dtls.role for m in checked.sections if m.dtls] == ["client", "client"]


def test_a_passive_offer_like_ffmpegs_keeps_the_bridge_the_dtls_client() -> None:
    checked = read_offer(offer({"audio": "passive", "video": "passive"}))
    assert checked.setup == "passive"
    assert roles(checked.sdp) == ["server", "server"]


def test_an_active_offer_is_left_as_it_is() -> None:
    assert roles(offer({"audio": "active", "video": "active"})) == ["client", "client"]


def test_an_offer_without_a_setup_line_is_taken_as_active_as_rfc_4145_says() -> None:
    checked = read_offer(offer({}))
    assert checked.setup == "none"
    assert [m.dtls.role for m in checked.sections if m.dtls] == ["client", "client"]


def test_a_session_level_setup_line_counts_for_every_section() -> None:
    assert roles(offer({}, session_setup="actpass")) == ["client", "client"]
    assert roles(offer({}, session_setup="passive")) == ["server", "server"]


def test_a_section_without_a_setup_line_after_one_with_it_is_filled_in() -> None:
    checked = read_offer(offer({"audio": "active"}))
    assert [m.dtls.role for m in checked.sections if m.dtls] == ["client", "client"]


def test_the_offer_remembers_the_peer_fingerprint_algorithm() -> None:
    assert read_offer(offer({"audio": "actpass", "video": "actpass"})).fingerprint_algorithm == (
        "sha-256"
    )


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"audio": "holdconn", "video": "holdconn"}, "holdconn"),
        ({"audio": "sideways", "video": "sideways"}, "a=setup:sideways is not a DTLS role"),
        ({"audio": "active", "video": "passive"}, "different DTLS roles"),
    ],
)
def test_an_offer_with_a_dtls_role_the_bridge_cannot_take_is_refused_with_the_reason(
    setup: dict[str, str | None], reason: str
) -> None:
    with pytest.raises(BadOffer, match=reason):
        read_offer(offer(setup))


def test_an_offer_whose_fingerprint_the_bridge_cannot_check_is_refused() -> None:
    text = offer({"audio": "actpass", "video": "actpass"}).replace("sha-256", "sha-1")
    with pytest.raises(BadOffer, match="sha-1"):
        read_offer(text)
