"""What one hall's TV really shows, judged from the reports its page sends every 2 s.

Presence (rooms/hall.py) says a hall's stream is connected; a Screen says whether
pictures move and sound is heard on it. The meeting policy lives here: how long a
still picture or a quiet speaker may last before the chair is warned.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from rooms.broadcast import Broadcast

# The chair is warned after this long without a new picture or without sound.
FROZEN_AFTER = 5.0
SILENT_AFTER = 5.0
# Below -60 dBFS nothing a hall could hear is playing.
AUDIBLE_LEVEL = 0.001
# One sample every 2 s for 4 h, the longest commune meeting we plan for (~1 MB per hall).
HISTORY_LIMIT = 7200

# Verdicts, as the wire names them. `unknown`: the hall's page has not reported (an
# OBS or VLC viewer never does); `off-air`: nothing to show; `starting`: the broadcast
# or the page is younger than the grace time and nothing moved yet.
UNKNOWN = "unknown"
OFF_AIR = "off-air"
STARTING = "starting"
MOVING = "moving"
FROZEN = "frozen"
NO_MEDIA = "none"  # the broadcast carries no such track (sound only, or picture only)
AUDIBLE = "audible"
SILENT = "silent"

# The states a hall page names itself (web/static/hall.js), checked at the edge.
SHOWN_STATES = frozenset({"connecting", "waiting", "live", "reconnecting", "audio", "error"})


@dataclass(frozen=True)
class LinkReport:
    """One report from a hall page: what it rendered and how its link looks."""

    shown: str  # the page's own state, one of SHOWN_STATES
    frames: int  # frames rendered since the page loaded
    fps: float
    width: int
    height: int
    audio_level: float  # 0..1, as WebRTC getStats reports it
    loss: float  # fraction of packets lost since the previous report, 0..1
    jitter_ms: float
    rtt_ms: float | None  # unknown until the bridge's first receiver report is answered
    bitrate_kbps: float

    def to_wire(self) -> dict[str, Any]:
        return {
            "shown": self.shown,
            "frames": self.frames,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "audio_level": self.audio_level,
            "loss": self.loss,
            "jitter_ms": self.jitter_ms,
            "rtt_ms": self.rtt_ms,
            "bitrate_kbps": self.bitrate_kbps,
        }


@dataclass(frozen=True)
class Verdict:
    picture: str = UNKNOWN
    sound: str = UNKNOWN


NOT_REPORTING = Verdict()


@dataclass(frozen=True)
class LinkSample:
    """One line of a hall's link history, for the minutes."""

    at: float
    report: LinkReport


class Screen:
    """One hall's TV. Mutable inside the room only; it follows one page at a time."""

    def __init__(self) -> None:
        self.page: str | None = None
        self.last: LinkReport | None = None
        self._since: float = 0.0  # when this page began reporting
        self._moved_at: float | None = None
        self._heard_at: float | None = None
        self.history: deque[LinkSample] = deque(maxlen=HISTORY_LIMIT)

    def report(self, page: str, report: LinkReport, at: float) -> None:
        if page != self.page or self.last is None:
            # A reloaded page counts its frames from zero: compare only with itself.
            self.page, self._since = page, at
            self._moved_at = self._heard_at = None
        elif report.frames > self.last.frames:
            self._moved_at = at
        if report.audio_level >= AUDIBLE_LEVEL:
            self._heard_at = at
        self.last = report
        self.history.append(LinkSample(at, report))

    def page_closed(self, page: str) -> None:
        if page == self.page:
            self.page, self.last = None, None
            self._moved_at = self._heard_at = None

    def verdict(self, broadcast: Broadcast, watching: bool, at: float) -> Verdict:
        """The one rule for what the chair is told about this TV."""
        if self.last is None or not watching:
            return NOT_REPORTING
        if not broadcast.live:
            return Verdict(OFF_AIR, OFF_AIR)
        # Nothing before the broadcast (or this page) began counts: a frame from a
        # stopped broadcast says nothing about the new one.
        begun = max(broadcast.since or 0.0, self._since)
        return Verdict(
            _judge(broadcast.video_codec, self._moved_at, begun, FROZEN_AFTER, at, MOVING, FROZEN),
            _judge(broadcast.audio_codec, self._heard_at, begun, SILENT_AFTER, at, AUDIBLE, SILENT),
        )

    def to_wire(self, verdict: Verdict) -> dict[str, Any]:
        return {
            "picture": verdict.picture,
            "sound": verdict.sound,
            "link": self.last.to_wire() if self.last is not None else None,
        }


def _judge(
    codec: str | None,
    last_good: float | None,
    begun: float,
    limit: float,
    at: float,
    good: str,
    bad: str,
) -> str:
    """`good` while the last sign of life is recent, `bad` once it is older than `limit`."""
    if codec is None:
        return NO_MEDIA
    if last_good is not None and last_good >= begun:
        return good if at - last_good <= limit else bad
    return bad if at - begun > limit else STARTING
