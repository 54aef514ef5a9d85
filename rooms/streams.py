"""Who owns each published stream: one session per source, the newest offer wins.

A source is "chair" or "hall:<id>" (rooms/routing.py). The chair's source also
keeps the Broadcast snapshot the halls' screens are judged against.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rooms.broadcast import OFF_AIR, Broadcast
from rooms.errors import DuplicateConnection
from rooms.events import (
    BroadcastStateChanged,
    Event,
    StreamEnded,
    StreamLive,
    StreamSuperseded,
)
from rooms.routing import CHAIR


@dataclass(frozen=True)
class Stream:
    source: str
    session_id: str
    video_codec: str | None
    audio_codec: str | None
    offered_at: float
    since: float  # when the source went live; a takeover keeps it


class Streams:
    """The live stream of each source. Mutable inside the room only."""

    def __init__(self) -> None:
        self._live: dict[str, Stream] = {}

    def get(self, source: str) -> Stream | None:
        return self._live.get(source)

    def is_live(self, source: str) -> bool:
        return source in self._live

    @property
    def broadcast(self) -> Broadcast:
        """The chair's stream as the snapshot and the screens see it."""
        chair = self._live.get(CHAIR)
        if chair is None:
            return OFF_AIR
        return Broadcast(
            live=True,
            video_codec=chair.video_codec,
            audio_codec=chair.audio_codec,
            since=chair.since,
            session=chair.session_id,
        )

    def check_new(self, session_id: str) -> None:
        if any(s.session_id == session_id for s in self._live.values()):
            raise DuplicateConnection(f"publishing session {session_id!r} is already live")

    def start(
        self,
        source: str,
        session_id: str,
        codecs: tuple[str | None, str | None],
        offered_at: float,
        at: float,
    ) -> list[Event]:
        """Take `source` live on `session_id`, unless a newer offer already holds it."""
        self.check_new(session_id)
        old = self._live.get(source)
        if old is not None and old.offered_at > offered_at:
            # Two devices on one key: the one that offered last keeps the stream, even
            # when the older offer's ICE finishes later.
            return [StreamSuperseded(source, session_id, at=at)]
        self._live[source] = Stream(
            source,
            session_id,
            codecs[0],
            codecs[1],
            offered_at,
            since=old.since if old is not None else at,
        )
        events: list[Event] = [
            StreamLive(source, session_id, old.session_id if old else None, at=at)
        ]
        if source == CHAIR:
            events.append(self._broadcast_event(at, replaced=old is not None))
        return events

    def stop(self, session_id: str, at: float) -> list[Event]:
        """End `session_id`'s stream; a replaced or superseded session's late stop is ignored."""
        source = self._source_of(session_id)
        if source is None:
            return []
        del self._live[source]
        events: list[Event] = [StreamEnded(source, session_id, at=at)]
        if source == CHAIR:
            events.append(self._broadcast_event(at, replaced=False))
        return events

    def codecs_changed(
        self, session_id: str, video_codec: str | None, audio_codec: str | None, at: float
    ) -> list[Event]:
        """The bridge sets a stream's tracks up one at a time: the second codec of a
        session arrives as a change of the same stream."""
        source = self._source_of(session_id)
        if source is None:
            return []  # a late word about a session that no longer carries a source
        old = self._live[source]
        if (video_codec, audio_codec) == (old.video_codec, old.audio_codec):
            return []
        self._live[source] = replace(old, video_codec=video_codec, audio_codec=audio_codec)
        return [self._broadcast_event(at, replaced=False)] if source == CHAIR else []

    def _source_of(self, session_id: str) -> str | None:
        return next((s.source for s in self._live.values() if s.session_id == session_id), None)

    def _broadcast_event(self, at: float, *, replaced: bool) -> BroadcastStateChanged:
        b = self.broadcast
        return BroadcastStateChanged(
            b.live, b.session, b.video_codec, b.audio_codec, replaced, at=at
        )
