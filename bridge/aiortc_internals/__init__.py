"""The only package that touches aiortc's private internals, so forwarding needs no codec.

aiortc decodes everything it receives and encodes everything it sends. A
forwarding bridge needs neither, so this package:

- receive.py: takes a publisher's RTP off aiortc's queue and handles it in the
  socket's callback, keeping what aiortc's receiver does for it (SRTP, RTX
  unwrapping, NACK generation, REMB, receive statistics for RTCP) but decoding
  nothing, and hands each packet to the bridge;
- send.py: writes packets straight into a sender, keeping its NACK history,
  header extension map and sender-report counters consistent, so aiortc's own
  RTCP (sender reports, NACK retransmission over RTX) keeps working;
- feedback.py: diverts the PLI/FIR a subscriber sends, which aiortc would turn
  into a flag for an encoder that does not exist here, and tells the bridge
  which packets a subscriber asks for (NACK) that the sender's history no longer
  holds, and what its receiver reports and REMB say of its link; and sends
  keyframe requests and NACKs to a publisher.

pyproject.toml pins aiortc to the releases this was checked against, and
tests/test_aiortc_internals.py fails loudly when any name used here disappears.
"""

from __future__ import annotations

from typing import Any

from aiortc import RTCRtpTransceiver
from aiortc.rtcrtpsender import RTP_HISTORY_SIZE

from .feedback import FeedbackListener, divert_feedback, send_nack, send_pli
from .names import require
from .receive import _RECEIVER_JITTER_BUFFER, PacketHandler, tap_receiver
from .send import MAX_BACKLOG_BYTES, SenderPort, SentHistory


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[Any]:
    return list(require(transceiver, "_codecs"))


__all__ = [
    "MAX_BACKLOG_BYTES",
    "RTP_HISTORY_SIZE",
    "_RECEIVER_JITTER_BUFFER",
    "FeedbackListener",
    "PacketHandler",
    "SenderPort",
    "SentHistory",
    "divert_feedback",
    "negotiated_codecs",
    "send_nack",
    "send_pli",
    "tap_receiver",
]
