"""Checks an SDP offer and picks the codecs the bridge will forward, before any peer exists.

Rejecting here, with a sentence a person can act on, means a bad offer never
allocates a peer connection or a UDP port.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiortc import RTCRtpSender
from aiortc import sdp as aiortc_sdp
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from .errors import BadOffer, CodecUnsupported

PUBLISH_VIDEO_CODECS = ("VP8", "H264")
AUDIO_CODEC = "opus"
MAX_OFFER_BYTES = 64 * 1024
# A chair may send its camera twice: full, then light (for halls on weak links).
MAX_RENDITIONS = 2
# aiortc checks a peer's certificate against these fingerprint hashes only.
FINGERPRINT_ALGORITHMS = ("sha-256", "sha-384", "sha-512")
SETUP_VALUES = ("actpass", "active", "passive")
_SETUP_LINE = re.compile(r"^a=setup:(.*)$")


@dataclass(frozen=True)
class Offer:
    """A checked offer: the SDP to hand aiortc, and what the peer said about DTLS."""

    sdp: str
    description: aiortc_sdp.SessionDescription
    setup: str  # the peer's own a=setup value ("none" if it sent none)
    fingerprint_algorithm: str

    @property
    def sections(self) -> list[aiortc_sdp.MediaDescription]:
        return media_sections(self.description)

    @property
    def bundles_all(self) -> bool:
        """Whether one BUNDLE group holds every media section (browsers, OBS, FFmpeg and
        aiortc all offer that), so every section can share one transport."""
        mids = {s.rtp.muxId for s in self.sections}
        return any(g.semantic == "BUNDLE" and mids <= set(g.items) for g in self.description.group)


def read_offer(text: str) -> Offer:
    """Check an offer and make its DTLS role one the bridge serves, or raise BadOffer."""
    if not text or not text.strip():
        raise BadOffer("the SDP offer is empty")
    if len(text) > MAX_OFFER_BYTES:
        raise BadOffer("the SDP offer is larger than 64 KiB")
    if not text.lstrip().startswith("v=0"):
        raise BadOffer("not an SDP offer: it must start with v=0")
    sdp, setup = _bridge_as_dtls_server(text)
    description = parse_offer(sdp)
    algorithms = [
        f.algorithm.lower()
        for m in media_sections(description)
        for f in (m.dtls.fingerprints if m.dtls else [])
    ]
    usable = [a for a in algorithms if a in FINGERPRINT_ALGORITHMS]
    if not usable:
        raise BadOffer(
            f"the DTLS fingerprint uses {', '.join(sorted(set(algorithms)))}; "
            f"the bridge checks {', '.join(FINGERPRINT_ALGORITHMS)}"
        )
    return Offer(sdp, description, setup, usable[0])


def _bridge_as_dtls_server(text: str) -> tuple[str, str]:
    """Rewrite the offer's a=setup so aiortc answers `passive` whenever the peer lets it.

    aiortc answers `active` to `actpass`, which makes it the DTLS client, and as
    a client it offers only ECDSA cipher suites: a peer with an RSA certificate
    (GStreamer) then fails with "no shared cipher". As the DTLS server the
    bridge picks the suite for its own ECDSA certificate, and any client works.
    Telling aiortc the peer said `active` is the one input that makes it the
    server, so `actpass` and a missing setup line (RFC 4145's default is
    `active`) become `active`. `passive` (FFmpeg) stays: the bridge is then the client.
    """
    lines = text.splitlines()
    first_media = next((i for i, line in enumerate(lines) if line.startswith("m=")), len(lines))
    values = []
    for line in lines:
        match = _SETUP_LINE.match(line.strip())
        if match:
            values.append(match.group(1).strip())
    for value in values:
        if value == "holdconn":
            raise BadOffer(
                "the offer says a=setup:holdconn (no DTLS connection yet); "
                "send an offer with a=setup:actpass, active or passive"
            )
        if value not in SETUP_VALUES:
            raise BadOffer(f"a=setup:{value} is not a DTLS role (actpass, active or passive)")
    if len(set(values)) > 1:
        raise BadOffer(
            f"the offer asks for different DTLS roles ({', '.join(sorted(set(values)))}) "
            "on one bundled connection"
        )
    setup = values[0] if values else "none"
    has_session_setup = any(_SETUP_LINE.match(line) for line in lines[:first_media])
    rewritten: list[str] = []
    section_has_setup = has_session_setup
    for index, line in enumerate(lines):
        if line.startswith("m="):
            if index > first_media and not section_has_setup:
                rewritten.append("a=setup:active")
            section_has_setup = has_session_setup
        if _SETUP_LINE.match(line.strip()):
            section_has_setup = True
            if setup == "actpass":
                line = "a=setup:active"
        rewritten.append(line)
    if len(lines) > first_media and not section_has_setup:
        rewritten.append("a=setup:active")
    return "\r\n".join(rewritten) + "\r\n", setup


def parse_offer(text: str) -> aiortc_sdp.SessionDescription:
    """Parse an SDP offer or raise BadOffer saying what is wrong with it."""
    try:
        description = aiortc_sdp.SessionDescription.parse(text)
    except Exception as exc:  # the parser raises whatever its input provokes
        raise BadOffer(f"malformed SDP offer: {exc}") from exc
    media = media_sections(description)
    if not media:
        raise BadOffer("the SDP offer has no audio or video section")
    for section in media:
        if section.ice is None or not section.ice.usernameFragment or not section.ice.password:
            raise BadOffer(f"the m={section.kind} section has no ICE username or password")
        if section.dtls is None or not section.dtls.fingerprints:
            raise BadOffer(f"the m={section.kind} section has no DTLS fingerprint")
        if not section.rtp.muxId:
            raise BadOffer(f"the m={section.kind} section has no a=mid")
    return description


def check_publish_shape(kinds: list[str]) -> None:
    """A publisher sends one sound and at most MAX_RENDITIONS renditions of one camera."""
    if kinds.count("audio") > 1:
        raise BadOffer("the offer has more than one audio section")
    if kinds.count("video") > MAX_RENDITIONS:
        raise BadOffer(f"the offer has more than {MAX_RENDITIONS} video sections")


def media_sections(description: aiortc_sdp.SessionDescription) -> list[aiortc_sdp.MediaDescription]:
    return [m for m in description.media if m.kind in ("audio", "video")]


def offered_codec_names(section: aiortc_sdp.MediaDescription) -> list[str]:
    names: list[str] = []
    for codec in section.rtp.codecs:
        name = codec.mimeType.split("/")[-1]
        if name.lower() not in ("rtx", "red", "ulpfec", "flexfec-03") and name not in names:
            names.append(name)
    return names


def media_ssrc(section: aiortc_sdp.MediaDescription) -> int | None:
    """The SSRC that carries media (not RTX) in an offer, if the offer names one."""
    for group in section.ssrc_group:
        if group.semantic == "FID" and group.items:
            return int(group.items[0])
    return section.ssrc[0].ssrc if section.ssrc else None


def _capabilities(kind: str, name: str) -> list[RTCRtpCodecCapability]:
    """Our capabilities for codec `name`, plus RTX for video."""
    codecs = RTCRtpSender.getCapabilities(kind).codecs
    chosen = [c for c in codecs if c.name.lower() == name.lower()]
    if kind == "video":
        chosen += [c for c in codecs if c.name.lower() == "rtx"]
    return chosen


def publish_preferences(
    section: aiortc_sdp.MediaDescription, same_as: str | None = None
) -> list[RTCRtpCodecCapability]:
    """Codecs to accept from the chair for this section, in the chair's own order; a
    second video section (the light rendition) must use the first one's codec, `same_as`,
    as every hall is negotiated for one codec."""
    offered = offered_codec_names(section)
    if same_as is not None:
        if same_as.lower() not in [n.lower() for n in offered]:
            raise CodecUnsupported(
                f"the chair's second video offers {', '.join(offered) or 'no codec'}; "
                f"it must offer {same_as}, like the first"
            )
        return _capabilities(section.kind, same_as)
    if section.kind == "audio":
        if AUDIO_CODEC not in [n.lower() for n in offered]:
            raise CodecUnsupported(
                f"the chair's audio offers {', '.join(offered) or 'no codec'}; "
                "the bridge forwards Opus only"
            )
        return _capabilities("audio", AUDIO_CODEC)
    for name in offered:
        if name.upper() in PUBLISH_VIDEO_CODECS:
            return _capabilities("video", name)
    raise CodecUnsupported(
        f"the chair's video offers {', '.join(offered) or 'no codec'}; "
        "the bridge forwards VP8 or H.264"
    )


def subscribe_preferences(
    section: aiortc_sdp.MediaDescription, wanted: str
) -> list[RTCRtpCodecCapability]:
    """Codecs for a viewer: exactly the publisher's codec, or a clear refusal."""
    offered = offered_codec_names(section)
    if wanted.lower() not in [n.lower() for n in offered]:
        raise CodecUnsupported(
            f"this screen cannot receive {wanted} {section.kind}, which the commune room "
            f"sends (it offers {', '.join(offered) or 'no codec'})"
        )
    return _capabilities(section.kind, wanted)
