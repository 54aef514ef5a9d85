"""What the bridge knows of each loudspeaker cluster: on or off, since when, what it was
sent, what it reported, and which meeting it carried. Plain state; the caller passes `at=`.

A cluster is flagged `dropped` when it carried the open meeting and is off now, and
`stale` when nothing was heard of it (stream or status) for `stale_after` seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import BadRequest, TooManyRequests
from .speakerconfig import SpeakerConfig, SpeakerLimits

MAX_STATUS_BYTES = 4096
STATUS_EVERY = 1.0  # seconds between two stored reports of one cluster, at least
STATUS_FIELDS = ("volume", "signal", "power", "firmware")


@dataclass(frozen=True)
class StatusReport:
    """A receiver's own report (docs/protocol.md, "Loudspeaker clusters")."""

    volume: int | None = None  # 0..100
    signal: float | None = None  # signal strength as the receiver reports it (dBm or %)
    power: str | None = None  # e.g. "mains", "battery", "solar"
    firmware: str | None = None

    @classmethod
    def parse(cls, body: bytes) -> StatusReport:
        """The report in `body`, or BadRequest naming what is wrong with it."""
        if len(body) > MAX_STATUS_BYTES:
            raise BadRequest(f"a status report is at most {MAX_STATUS_BYTES} bytes")
        try:
            raw = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"not JSON: {exc}", code="bad-json") from exc
        if not isinstance(raw, dict):
            raise BadRequest("a status report is a JSON object", code="bad-json")
        unknown = sorted(set(raw) - set(STATUS_FIELDS))
        if unknown:
            raise BadRequest(f"unknown field {unknown[0][:40]!r}", code="bad-field")
        if not any(raw.get(name) is not None for name in STATUS_FIELDS):
            raise BadRequest(f"give at least one of {', '.join(STATUS_FIELDS)}", code="bad-field")
        volume, signal = raw.get("volume"), raw.get("signal")
        if volume is not None and (
            not isinstance(volume, int) or isinstance(volume, bool) or not 0 <= volume <= 100
        ):
            raise BadRequest("volume: a whole number 0..100", code="bad-field")
        if signal is not None and (
            not isinstance(signal, int | float)
            or isinstance(signal, bool)
            or not -200 <= signal <= 200
        ):
            raise BadRequest("signal: a number -200..200", code="bad-field")
        texts: dict[str, str | None] = {}
        for name, longest in (("power", 32), ("firmware", 64)):
            value = raw.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > longest):
                raise BadRequest(f"{name}: text of at most {longest} characters", code="bad-field")
            texts[name] = value
        return cls(volume, None if signal is None else float(signal), **texts)

    def to_wire(self) -> dict[str, Any]:
        return {
            "volume": self.volume,
            "signal": self.signal,
            "power": self.power,
            "firmware": self.firmware,
        }


@dataclass
class ClusterState:
    config: SpeakerConfig
    listeners: int = 0
    since: float | None = None  # on since (its first listener of this run)
    off_since: float | None = None
    bytes_sent: int = 0
    backlog: int = 0  # bytes queued for its listeners, ours and the socket's
    last_seen: float | None = None
    status: StatusReport | None = None
    status_at: float | None = None
    dropped_slow: int = 0  # listeners dropped for not keeping up
    carried: set[str] = field(default_factory=set)  # meetings it was on during


@dataclass(frozen=True)
class Span:
    """One cluster carrying one meeting, from when to when (None: still on)."""

    meeting_id: str
    speaker_id: str
    started_at: float
    ended_at: float | None = None


class SpeakerWatch:
    """Every cluster's state; `opened`/`closed`/`meeting` return the history spans they end
    or begin, for the caller to store."""

    def __init__(self, clusters: tuple[SpeakerConfig, ...], limits: SpeakerLimits) -> None:
        self.limits = limits
        self.clusters = {c.id: ClusterState(c) for c in clusters}
        self.meeting_id: str | None = None
        self.spans: list[Span] = []  # of the open (or last) meeting, oldest first

    def opened(self, speaker_id: str, at: float) -> list[Span]:
        """A listener of `speaker_id` connected."""
        state = self.clusters[speaker_id]
        state.listeners += 1
        state.last_seen = at
        if state.listeners > 1:
            return []
        state.since, state.off_since = at, None
        return self._begin(state, at)

    def closed(self, speaker_id: str, at: float, *, slow: bool = False) -> list[Span]:
        """A listener of `speaker_id` went (`slow`: dropped for not keeping up)."""
        state = self.clusters[speaker_id]
        state.listeners = max(0, state.listeners - 1)
        state.dropped_slow += int(slow)
        if state.listeners:
            return []
        state.since, state.off_since, state.backlog = None, at, 0
        return self._end(state, at)

    def sent(self, speaker_id: str, size: int, at: float) -> None:
        state = self.clusters[speaker_id]
        state.bytes_sent += size
        state.last_seen = at

    def reported(self, speaker_id: str, body: bytes, at: float) -> StatusReport:
        """Store a status report; 429 within STATUS_EVERY of the last stored one, 400 when
        malformed. A refused report changes nothing."""
        state = self.clusters[speaker_id]
        if state.status_at is not None and at - state.status_at < STATUS_EVERY:
            raise TooManyRequests("at most one status report a second", code="too-frequent")
        report = StatusReport.parse(body)
        state.status, state.status_at, state.last_seen = report, at, at
        return report

    def meeting(self, meeting_id: str | None, at: float) -> list[Span]:
        """The room's open meeting is now `meeting_id` (None: none)."""
        if meeting_id == self.meeting_id:
            return []
        changed: list[Span] = []
        for state in self.clusters.values():
            if state.listeners:
                changed += self._end(state, at)
        self.meeting_id = meeting_id
        if meeting_id is not None:
            self.spans = []
            for state in self.clusters.values():
                if state.listeners:
                    changed += self._begin(state, at)
        return changed

    def flags(self, state: ClusterState, at: float) -> list[str]:
        flags = []
        if not state.listeners and self.meeting_id in state.carried:
            flags.append("dropped")
        if state.last_seen is None or at - state.last_seen > self.limits.stale_after:
            flags.append("stale")
        return flags

    def snapshot(self, at: float) -> dict[str, Any]:
        """The `GET /speakers` body (docs/protocol.md)."""
        return {
            "meeting": self.meeting_id,
            "stale_after": self.limits.stale_after,
            "now": at,
            "clusters": [
                {
                    "id": s.config.id,
                    "name": s.config.name,
                    "area": s.config.area,
                    "connected": s.listeners > 0,
                    "listeners": s.listeners,
                    "since": s.since,
                    "off_since": s.off_since,
                    "bytes_sent": s.bytes_sent,
                    "backlog": s.backlog,
                    "last_seen": s.last_seen,
                    "status": None if s.status is None else s.status.to_wire(),
                    "status_at": s.status_at,
                    "dropped_slow": s.dropped_slow,
                    "flags": self.flags(s, at),
                }
                for s in self.clusters.values()
            ],
            "history": [span_to_wire(span) for span in self.spans],
        }

    def _begin(self, state: ClusterState, at: float) -> list[Span]:
        if self.meeting_id is None:
            return []
        state.carried.add(self.meeting_id)
        span = Span(self.meeting_id, state.config.id, at)
        self.spans.append(span)
        return [span]

    def _end(self, state: ClusterState, at: float) -> list[Span]:
        for index, span in enumerate(self.spans):
            if span.speaker_id == state.config.id and span.ended_at is None:
                ended = Span(span.meeting_id, span.speaker_id, span.started_at, at)
                self.spans[index] = ended
                return [ended]
        return []


def span_to_wire(span: Span) -> dict[str, Any]:
    return {
        "meeting": span.meeting_id,
        "speaker": span.speaker_id,
        "started_at": span.started_at,
        "ended_at": span.ended_at,
    }
