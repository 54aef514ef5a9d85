"""The meeting room as a pure state machine: commands in, events out, nothing else moves it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rooms.broadcast import OFF_AIR, Broadcast
from rooms.commands import (
    BroadcastCodecsChanged,
    BroadcastStarted,
    BroadcastStopped,
    Command,
    Connect,
    Disconnect,
    MediaStarted,
    MediaStopped,
    RenditionChanged,
    ScreenReported,
    Tick,
)
from rooms.errors import DuplicateConnection, NotPermitted, UnknownConnection, UnknownHall
from rooms.events import (
    BroadcastStateChanged,
    Event,
    HallStateChanged,
    ParticipantJoined,
    ParticipantLeft,
    RenditionSwitched,
    ScreenChanged,
)
from rooms.hall import WATCHING, Hall
from rooms.permissions import PUBLISH, REPORT_SCREEN, WATCH, role
from rooms.screen import NOT_REPORTING, LinkSample, Screen, Verdict

# The chair's camera comes in full (720p) and, for halls on weak links, light (360p).
FULL, LIGHT = "full", "light"
RENDITIONS = (FULL, LIGHT)


@dataclass(frozen=True)
class _Attachment:
    """Who holds a page socket or a watching session, kept to report and undo it later."""

    role: str
    hall_id: str | None


class Room:
    """One commune room and its halls. Every change goes through `handle`.

    A command is checked completely before anything is touched, so one that raises
    leaves the room (and its log) exactly as it was.
    """

    def __init__(self, commune: str, halls: Sequence[tuple[str, str]]) -> None:
        self.commune = commune
        self._halls: dict[str, Hall] = {}
        for hall_id, name in halls:
            if hall_id in self._halls:
                raise ValueError(f"hall id {hall_id!r} appears twice")
            self._halls[hall_id] = Hall(hall_id, name)
        self._pages: dict[str, _Attachment] = {}
        self._sessions: dict[str, _Attachment] = {}
        self._renditions: dict[str, str] = {}  # watching session -> rendition it gets
        self._broadcast: Broadcast = OFF_AIR
        self._screens = {hall_id: Screen() for hall_id in self._halls}
        self._verdicts: dict[str, Verdict] = dict.fromkeys(self._halls, NOT_REPORTING)
        self._log: list[Event] = []

    # -- read-only views ---------------------------------------------------------------

    @property
    def broadcast(self) -> Broadcast:
        return self._broadcast

    @property
    def log(self) -> tuple[Event, ...]:
        return tuple(self._log)

    def hall_states(self) -> list[tuple[str, str, str]]:
        """(id, name, state) for every hall, in the order the room was configured."""
        return [(h.id, h.name, h.state) for h in self._halls.values()]

    def screen(self, hall_id: str) -> tuple[Verdict, Screen]:
        """What `hall_id`'s TV shows, as last judged, and its latest report."""
        return self._verdicts[hall_id], self._screens[hall_id]

    def link_history(self, hall_id: str) -> tuple[LinkSample, ...]:
        """Every report `hall_id` sent in this meeting (the newest HISTORY_LIMIT), oldest first."""
        return tuple(self._screens[hall_id].history)

    def snapshot(self) -> dict[str, Any]:
        """The `state` message body of docs/protocol.md, ready for json.dumps."""
        return {
            "broadcast": self._broadcast.to_wire(),
            "halls": [
                {
                    "id": hall_id,
                    "name": name,
                    "state": state,
                    "screen": self._screens[hall_id].to_wire(self._verdicts[hall_id]),
                    "rendition": self.rendition(hall_id),
                }
                for hall_id, name, state in self.hall_states()
            ],
        }

    # -- the one way in ----------------------------------------------------------------

    def handle(self, command: Command, at: float) -> list[Event]:
        """Apply `command` at Unix time `at`; return the events it caused, also logged."""
        match command:
            case Connect():
                events = self._connect(command, at)
            case Disconnect():
                events = self._disconnect(command, at)
            case MediaStarted():
                events = self._media_started(command, at)
            case MediaStopped():
                events = self._media_stopped(command, at)
            case BroadcastStarted():
                events = self._broadcast_started(command, at)
            case BroadcastStopped():
                events = self._broadcast_stopped(command, at)
            case BroadcastCodecsChanged():
                events = self._broadcast_codecs_changed(command, at)
            case RenditionChanged():
                events = self._rendition_changed(command, at)
            case ScreenReported():
                events = self._screen_reported(command, at)
            case Tick():
                events = []
            case _:
                raise TypeError(f"not a room command: {command!r}")
        # Any change (a report, the broadcast, presence, or just time) may change a verdict.
        events += self._judge_screens(at)
        self._log.extend(events)
        return events

    # -- transitions: each validates first, then mutates and cannot fail ---------------

    def _connect(self, cmd: Connect, at: float) -> list[Event]:
        hall = self._hall_for(cmd.role, cmd.hall_id, needs=None)
        if cmd.conn_id in self._pages:
            raise DuplicateConnection(f"connection {cmd.conn_id!r} is already open")
        self._pages[cmd.conn_id] = _Attachment(cmd.role, cmd.hall_id)
        events: list[Event] = [ParticipantJoined(cmd.conn_id, cmd.role, cmd.hall_id, at=at)]
        if hall is not None:
            events += self._change(hall, lambda: hall.page_opened(cmd.conn_id), at)
        return events

    def _disconnect(self, cmd: Disconnect, at: float) -> list[Event]:
        who = self._pages.pop(cmd.conn_id, None)
        if who is None:
            raise UnknownConnection(f"no open connection {cmd.conn_id!r}")
        events: list[Event] = [ParticipantLeft(cmd.conn_id, who.role, who.hall_id, at=at)]
        if who.hall_id is not None:
            hall = self._halls[who.hall_id]
            self._screens[hall.id].page_closed(cmd.conn_id)
            events += self._change(hall, lambda: hall.page_closed(cmd.conn_id), at)
        return events

    def _media_started(self, cmd: MediaStarted, at: float) -> list[Event]:
        hall = self._hall_for(cmd.role, cmd.hall_id, needs=WATCH)
        if cmd.session_id in self._sessions:
            raise DuplicateConnection(f"media session {cmd.session_id!r} is already up")
        self._sessions[cmd.session_id] = _Attachment(cmd.role, cmd.hall_id)
        if hall is None:
            return []
        return self._change(hall, lambda: hall.media_started(cmd.session_id), at)

    def _media_stopped(self, cmd: MediaStopped, at: float) -> list[Event]:
        who = self._sessions.pop(cmd.session_id, None)
        if who is None:
            raise UnknownConnection(f"no media session {cmd.session_id!r}")
        self._renditions.pop(cmd.session_id, None)
        if who.hall_id is None:
            return []
        hall = self._halls[who.hall_id]
        return self._change(hall, lambda: hall.media_stopped(cmd.session_id), at)

    def _rendition_changed(self, cmd: RenditionChanged, at: float) -> list[Event]:
        who = self._sessions.get(cmd.session_id)
        if who is None:
            raise UnknownConnection(f"no media session {cmd.session_id!r}")
        if cmd.rendition not in RENDITIONS:
            raise ValueError(f"unknown rendition {cmd.rendition!r}")
        if self._renditions.get(cmd.session_id, FULL) == cmd.rendition:
            return []
        self._renditions[cmd.session_id] = cmd.rendition
        if who.hall_id is None:
            return []
        return [RenditionSwitched(who.hall_id, cmd.rendition, at=at)]

    def rendition(self, hall_id: str) -> str | None:
        """The rendition `hall_id`'s newest watching session gets; None while it watches none."""
        sessions = [s for s, who in self._sessions.items() if who.hall_id == hall_id]
        return self._renditions.get(sessions[-1], FULL) if sessions else None

    def _broadcast_started(self, cmd: BroadcastStarted, at: float) -> list[Event]:
        self._hall_for(cmd.role, None, needs=PUBLISH)
        old = self._broadcast
        if cmd.session_id == old.session:
            raise DuplicateConnection(f"broadcast session {cmd.session_id!r} is already live")
        replaced = old.live
        # A replacement keeps `since`: to the halls the broadcast never went off air.
        self._broadcast = Broadcast(
            live=True,
            video_codec=cmd.video_codec,
            audio_codec=cmd.audio_codec,
            since=old.since if replaced else at,
            session=cmd.session_id,
        )
        return [self._broadcast_event(at, replaced=replaced)]

    def _broadcast_stopped(self, cmd: BroadcastStopped, at: float) -> list[Event]:
        # A replaced publisher's teardown arrives after its successor went live.
        if cmd.session_id != self._broadcast.session:
            return []
        self._broadcast = OFF_AIR
        return [self._broadcast_event(at, replaced=False)]

    def _broadcast_codecs_changed(self, cmd: BroadcastCodecsChanged, at: float) -> list[Event]:
        old = self._broadcast
        if cmd.session_id != old.session:
            return []  # a late word about a session that is no longer the broadcast
        if (cmd.video_codec, cmd.audio_codec) == (old.video_codec, old.audio_codec):
            return []
        self._broadcast = replace(old, video_codec=cmd.video_codec, audio_codec=cmd.audio_codec)
        return [self._broadcast_event(at, replaced=False)]

    def _screen_reported(self, cmd: ScreenReported, at: float) -> list[Event]:
        who = self._pages.get(cmd.conn_id)
        if who is None:
            raise UnknownConnection(f"no open connection {cmd.conn_id!r}")
        hall = self._hall_for(who.role, who.hall_id, needs=REPORT_SCREEN)
        if hall is None:  # only a role bound to a hall may hold REPORT_SCREEN
            raise NotPermitted(f"role {who.role!r} reports for no hall")
        self._screens[hall.id].report(cmd.conn_id, cmd.report, at)
        return []

    def _judge_screens(self, at: float) -> list[Event]:
        events: list[Event] = []
        for hall in self._halls.values():
            verdict = self._screens[hall.id].verdict(self._broadcast, hall.state == WATCHING, at)
            if verdict != self._verdicts[hall.id]:
                self._verdicts[hall.id] = verdict
                events.append(ScreenChanged(hall.id, verdict.picture, verdict.sound, at=at))
        return events

    # -- helpers -----------------------------------------------------------------------

    def _hall_for(self, role_name: str, hall_id: str | None, *, needs: str | None) -> Hall | None:
        """Check that `role_name` may do this (for `hall_id`); the hall it acts for, if any."""
        spec = role(role_name)
        if needs is not None and needs not in spec.permissions:
            raise NotPermitted(f"role {role_name!r} may not {needs}")
        if not spec.bound_to_hall:
            if hall_id is not None:
                raise NotPermitted(f"role {role_name!r} may not act for hall {hall_id!r}")
            return None
        if hall_id is None:
            raise NotPermitted(f"role {role_name!r} must name its hall")
        hall = self._halls.get(hall_id)
        if hall is None:
            raise UnknownHall(f"no hall {hall_id!r} in {self.commune}")
        return hall

    @staticmethod
    def _change(hall: Hall, apply: Callable[[], None], at: float) -> list[Event]:
        old = hall.state
        apply()
        new = hall.state
        return [] if new == old else [HallStateChanged(hall.id, old, new, at=at)]

    def _broadcast_event(self, at: float, *, replaced: bool) -> BroadcastStateChanged:
        b = self._broadcast
        return BroadcastStateChanged(
            b.live, b.session, b.video_codec, b.audio_codec, replaced, at=at
        )
