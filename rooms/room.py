"""The meeting room as a pure state machine: commands in, events out, nothing else moves it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rooms.broadcast import Broadcast
from rooms.commands import (
    AddNote,
    BroadcastCodecsChanged,
    BroadcastStarted,
    BroadcastStopped,
    CloseMeeting,
    Command,
    Connect,
    Disconnect,
    MediaStarted,
    MediaStopped,
    OpenMeeting,
    PublishStarted,
    PublishStopped,
    RecordingFailed,
    RenditionChanged,
    ScreenReported,
    SetQuestionStatus,
    StartRecording,
    StopRecording,
    Tick,
)
from rooms.entry import Entry
from rooms.errors import NotPermitted
from rooms.events import Event, MeetingClosed, MeetingOpened, ScreenChanged, ViewerCount
from rooms.floor import SPEAKING_LIMIT, Floor, Meeting
from rooms.hall import WATCHING
from rooms.minutes import Minutes
from rooms.moves import floor_move, sender
from rooms.permissions import (
    KEEP_MINUTES,
    MANAGE_MEETING,
    PUBLISH,
    RECORD,
    REPORT_SCREEN,
    SEE_HALLS,
    SHARE_SCREEN,
    role,
)
from rooms.presence import FULL, LIGHT, RENDITIONS, Attachment, Presence
from rooms.recording import Recording
from rooms.routing import CHAIR, SLIDES, Routing, hall_source
from rooms.screen import NOT_REPORTING, LinkSample, Screen, Verdict
from rooms.streams import Streams
from rooms.turn import Turn

__all__ = ["FLOOR_GRACE", "FULL", "LIGHT", "RENDITIONS", "Room"]

# A hall on the floor whose stream is gone this long loses the floor: long enough for a
# TV that reloads its page to publish again, short enough that the meeting moves on.
FLOOR_GRACE = 10.0
# The crowd's size goes into the log at most this often, however fast pages come and go.
VIEWER_COUNT_EVERY = 10.0


class Room:
    """One commune room and its halls. Every change goes through `handle`.

    A command is checked completely before anything is touched, so one that raises
    leaves the room exactly as it was. The meeting, queue, floor and mutes change only
    by applying events (rooms/floor.py), so `replay` of the logged events rebuilds them.
    """

    def __init__(
        self,
        commune: str,
        halls: Sequence[tuple[str, str]],
        speaking_limit: int = SPEAKING_LIMIT,
    ) -> None:
        self.commune = commune
        self._presence = Presence(commune, halls)
        self._streams = Streams()
        self._floor = Floor(speaking_limit)
        self._recording = Recording()
        self._minutes = Minutes()
        self._screens = {hall_id: Screen() for hall_id in self._presence.halls}
        self._verdicts: dict[str, Verdict] = dict.fromkeys(self._presence.halls, NOT_REPORTING)
        self._crowd_told: tuple[int, float | None] = (0, None)  # last ViewerCount, and when
        # (entry id, since when) the floor hall's stream has been missing. Not replayed:
        # after a restart every stream is gone, and the grace starts at the first command.
        self._absent: tuple[str, float] | None = None
        self._now: float | None = None  # the `at` of the last command handled

    # -- read-only views ---------------------------------------------------------------

    @property
    def broadcast(self) -> Broadcast:
        return self._streams.broadcast

    @property
    def meeting(self) -> Meeting | None:
        return self._floor.meeting

    @property
    def queue(self) -> tuple[Entry, ...]:
        return self._floor.queue

    @property
    def floor(self) -> Turn | None:
        return self._floor.turn

    @property
    def muted(self) -> frozenset[str]:
        return self._floor.muted

    @property
    def recording(self) -> Recording:
        return self._recording

    def routing(self) -> Routing:
        turn = self._floor.turn
        hall = turn.hall_id if turn is not None else None
        return Routing(hall, self._floor.muted, self._streams.is_live(SLIDES))

    def stream_live(self, source: str) -> bool:
        """Whether `source` ("chair", "hall:<id>") has a live publishing session."""
        return self._streams.is_live(source)

    def hall_states(self) -> list[tuple[str, str, str]]:
        """(id, name, state) for every hall, in the order the room was configured."""
        return [(h.id, h.name, h.state) for h in self._presence.halls.values()]

    def screen(self, hall_id: str) -> tuple[Verdict, Screen]:
        """What `hall_id`'s TV shows, as last judged, and its latest report."""
        return self._verdicts[hall_id], self._screens[hall_id]

    def link_history(self, hall_id: str) -> tuple[LinkSample, ...]:
        """Every report `hall_id` sent in this meeting (the newest HISTORY_LIMIT), oldest first."""
        return tuple(self._screens[hall_id].history)

    def rendition(self, hall_id: str) -> str | None:
        """The rendition `hall_id`'s newest watching session gets; None while it watches none."""
        return self._presence.rendition(hall_id)

    def log_meeting(self, events: Sequence[Event]) -> str | None:
        """The meeting whose log `events` (just returned by `handle`) belong to; None
        when no meeting is open and they closed none."""
        closed = next((e for e in events if isinstance(e, MeetingClosed)), None)
        if closed is not None:
            return closed.meeting_id
        return self._floor.meeting.id if self._floor.meeting is not None else None

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """The `state` message body of docs/protocol.md, ready for json.dumps. `now`
        defaults to the time of the last command."""
        meeting = self._floor.meeting
        return {
            "broadcast": self.broadcast.to_wire(),
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
            "meeting": None
            if meeting is None
            else {
                "id": meeting.id,
                "title": meeting.title,
                "opened_at": meeting.opened_at,
                "agenda": meeting.agenda,
            },
            "queue": [self._entry_wire(e, i + 1) for i, e in enumerate(self._floor.queue)],
            "floor": self._floor_wire(),
            "muted": sorted(self._floor.muted),
            "slides": self._streams.is_live(SLIDES),
            "now": now if now is not None else self._now,
            "recording": self._recording.to_wire(),
            "recording_stopped": self._recording.stopped_wire(),
        }

    def snapshot_for(
        self, role_name: str, hall_id: str | None, now: float | None = None
    ) -> dict[str, Any]:
        """The snapshot as `role_name` (of `hall_id`) may see it: without `see_halls`, no
        halls, and only the own hall's queue entries (their positions still count all)."""
        snapshot = self.snapshot(now)
        if SEE_HALLS not in role(role_name).permissions:
            snapshot["halls"] = []
            snapshot["queue"] = [e for e in snapshot["queue"] if hall_id and e["hall"] == hall_id]
        if KEEP_MINUTES in role(role_name).permissions:
            snapshot["minutes"] = self._minutes.to_wire()
        return snapshot

    # -- the one way in ----------------------------------------------------------------

    def handle(self, command: Command, at: float) -> list[Event]:
        """Apply `command` at Unix time `at`; return the events it caused."""
        match command:
            case Connect():
                events = self._presence.connect(command, at)
            case Disconnect():
                who = self._presence.page(command.conn_id)
                events = self._presence.disconnect(command.conn_id, at)
                if who.hall_id is not None:
                    self._screens[who.hall_id].page_closed(command.conn_id)
            case MediaStarted():
                events = self._presence.media_started(command, at)
            case MediaStopped():
                events = self._presence.media_stopped(command.session_id, at)
            case PublishStarted():
                events = self._publish_started(command, at)
            case BroadcastStarted():
                events = self._publish_started(
                    PublishStarted(
                        command.session_id,
                        command.role,
                        None,
                        command.video_codec,
                        command.audio_codec,
                    ),
                    at,
                )
            case PublishStopped() | BroadcastStopped():
                events = self._streams.stop(command.session_id, at)
            case BroadcastCodecsChanged():
                events = self._streams.codecs_changed(
                    command.session_id, command.video_codec, command.audio_codec, at
                )
            case RenditionChanged():
                events = self._presence.rendition_changed(command, at)
            case ScreenReported():
                events = self._screen_reported(command, at)
            case Tick():
                events = []
            case StartRecording() | StopRecording() | RecordingFailed():
                events = self._recording.handle(
                    command, self._recorder, self.meeting is not None, at
                )
            case AddNote() | SetQuestionStatus():
                events = self._minutes_command(command, at)
            case _:
                events = self._floor_command(command, at)
        opened = next((i for i, e in enumerate(events) if isinstance(e, MeetingOpened)), None)
        if opened is not None:  # right after it, so the meeting's log holds it
            present = self._minutes.present_at_open(self._presence.hall_pages(), at)
            events[opened + 1 : opened + 1] = present
        events = self._recording.before_close(events)
        self._now = at
        self._record(events)
        # Time, streams and pages may each have moved the floor, the crowd or a screen.
        for check in (self._floor.timers, self._watch_floor_stream, self._count_crowd):
            more = check(at)
            self._record(more)
            events += more
        events += self._judge_screens(at)
        return events

    def replay(self, events: Iterable[Event]) -> None:
        """Rebuild the meeting, queue, floor and mutes from one meeting's logged events,
        oldest first, into a room that has handled nothing yet. Presence, streams and
        screens are not replayed: after a restart they come back as pages reconnect."""
        if self._now is not None or self._floor.meeting is not None:
            raise RuntimeError("replay only into a fresh room")
        self._record(events)

    # -- transitions: each validates first, then mutates and cannot fail ---------------

    def _record(self, events: Iterable[Event]) -> None:
        for event in events:
            self._floor.apply(event)
            self._recording.apply(event)
            self._minutes.apply(event)

    def _publish_started(self, cmd: PublishStarted, at: float) -> list[Event]:
        hall = self._presence.hall_for(
            cmd.role, cmd.hall_id, needs=SHARE_SCREEN if cmd.screen else PUBLISH
        )
        source = SLIDES if cmd.screen else CHAIR if hall is None else hall_source(hall.id)
        self._streams.check_new(cmd.session_id)
        # The chair going live opens the meeting when the chair forgot to.
        opening = (
            self._floor.open("", at)
            if source == CHAIR and self._floor.meeting is None and not self._streams.is_live(CHAIR)
            else []
        )
        offered_at = cmd.offered_at if cmd.offered_at is not None else at
        codecs = (cmd.video_codec, cmd.audio_codec)
        return opening + self._streams.start(source, cmd.session_id, codecs, offered_at, at)

    def _screen_reported(self, cmd: ScreenReported, at: float) -> list[Event]:
        who = self._presence.page(cmd.conn_id)
        hall = self._presence.hall_for(who.role, who.hall_id, needs=REPORT_SCREEN)
        if hall is None:  # only a role bound to a hall may hold REPORT_SCREEN
            raise NotPermitted(f"role {who.role!r} reports for no hall")
        self._screens[hall.id].report(cmd.conn_id, cmd.report, at)
        return []

    def _floor_command(self, cmd: Command, at: float) -> list[Event]:
        """A page's move in the meeting: checked against the sender's role, then the floor."""
        floor = self._floor
        match cmd:
            case OpenMeeting():
                self._sender(cmd.conn_id, MANAGE_MEETING)
                return floor.open(cmd.title, at, cmd.agenda)
            case CloseMeeting():
                closing = floor.close(self._sender(cmd.conn_id, MANAGE_MEETING).role, at)
                links = ((h, self._screens[h].history) for h in self._presence.halls)
                return self._minutes.link_quality(links, at) + closing
            case _:
                return floor_move(cmd, floor, self._presence, at)

    def _minutes_command(self, cmd: AddNote | SetQuestionStatus, at: float) -> list[Event]:
        who = self._sender(cmd.conn_id, KEEP_MINUTES)
        if isinstance(cmd, AddNote):
            return self._minutes.add_note(cmd.text, who.role, at)
        return self._minutes.set_status(cmd.entry_id, cmd.status, cmd.answer, who.role, at)

    # -- what time, streams and pages change by themselves ------------------------------

    def _watch_floor_stream(self, at: float) -> list[Event]:
        """End the floor of a hall whose stream stayed gone for FLOOR_GRACE."""
        turn = self._floor.turn
        if turn is None or self._streams.is_live(hall_source(turn.hall_id)):
            self._absent = None
            return []
        if self._absent is None or self._absent[0] != turn.entry.id:
            self._absent = (turn.entry.id, at)
            return []
        if at - self._absent[1] < FLOOR_GRACE:
            return []
        self._absent = None
        return self._floor.end("room", "hall-dropped", at)

    def _count_crowd(self, at: float) -> list[Event]:
        told, told_at = self._crowd_told
        if self._presence.crowd == told or (
            told_at is not None and at - told_at < VIEWER_COUNT_EVERY
        ):
            return []
        self._crowd_told = (self._presence.crowd, at)
        return [ViewerCount(self._presence.crowd, at=at)]

    def _judge_screens(self, at: float) -> list[Event]:
        events: list[Event] = []
        broadcast = self._streams.broadcast
        for hall in self._presence.halls.values():
            verdict = self._screens[hall.id].verdict(broadcast, hall.state == WATCHING, at)
            if verdict != self._verdicts[hall.id]:
                self._verdicts[hall.id] = verdict
                events.append(ScreenChanged(hall.id, verdict.picture, verdict.sound, at=at))
        return events

    # -- helpers -----------------------------------------------------------------------

    def _sender(self, conn_id: str, needs: str) -> Attachment:
        return sender(self._presence, conn_id, needs)

    def _recorder(self, conn_id: str) -> str:
        return self._sender(conn_id, RECORD).role

    def _entry_wire(self, entry: Entry, position: int | None) -> dict[str, Any]:
        hall = self._presence.halls.get(entry.hall_id)
        return {
            "id": entry.id,
            "hall": entry.hall_id,
            "hall_name": hall.name if hall is not None else entry.hall_id,
            "name": entry.name,
            "topic": entry.topic,
            "raised_at": entry.raised_at,
            "position": position,
        }

    def _floor_wire(self) -> dict[str, Any] | None:
        turn = self._floor.turn
        if turn is None:
            return None
        return {
            "entry": self._entry_wire(turn.entry, None),
            "hall": turn.hall_id,
            "granted_at": turn.granted_at,
            "limit": turn.limit,
            "deadline": turn.deadline,
            "muted": turn.hall_id in self._floor.muted,
            "consent": turn.entry.consent,
            "live": self._streams.is_live(hall_source(turn.hall_id)),
        }
