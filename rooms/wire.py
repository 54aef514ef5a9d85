"""The stable wire shape of every event the log keeps (docs/protocol.md, "Event log").

An event is `{"type": <kebab name>, "at": <unix time>, ...its fields}`. Field names are
the dataclass field names; an entry is an object (rooms/entry.py `Entry.to_wire`).
Renaming a field here breaks every stored meeting: add fields, never rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from types import MappingProxyType
from typing import Any

from rooms.entry import Entry
from rooms.events import (
    ConsentGiven,
    EntryEdited,
    EntryMoved,
    Event,
    FloorEnded,
    FloorExtended,
    FloorGranted,
    FloorOvertime,
    FloorTimeWarning,
    HallMuted,
    HallsPresent,
    HandRaised,
    HandWithdrawn,
    LinkQuality,
    MeetingClosed,
    MeetingOpened,
    NoteAdded,
    ParticipantJoined,
    ParticipantLeft,
    QuestionStatusSet,
    RecordingStarted,
    RecordingStopped,
    StreamEnded,
    StreamLive,
    ViewerCount,
)

PERSISTED: Mapping[str, type[Event]] = MappingProxyType(
    {
        "meeting-opened": MeetingOpened,
        "meeting-closed": MeetingClosed,
        "participant-joined": ParticipantJoined,
        "participant-left": ParticipantLeft,
        "viewer-count": ViewerCount,
        "hand-raised": HandRaised,
        "hand-withdrawn": HandWithdrawn,
        "floor-granted": FloorGranted,
        "floor-ended": FloorEnded,
        "hall-muted": HallMuted,
        "floor-extended": FloorExtended,
        "entry-edited": EntryEdited,
        "entry-moved": EntryMoved,
        "consent-given": ConsentGiven,
        "floor-time-warning": FloorTimeWarning,
        "floor-overtime": FloorOvertime,
        "stream-live": StreamLive,
        "stream-ended": StreamEnded,
        "recording-started": RecordingStarted,
        "recording-stopped": RecordingStopped,
        "note-added": NoteAdded,
        "question-status-set": QuestionStatusSet,
        "link-quality": LinkQuality,
        "halls-present": HallsPresent,
    }
)
_TYPE_OF: Mapping[type[Event], str] = MappingProxyType({v: k for k, v in PERSISTED.items()})


class WireError(ValueError):
    """A stored event that cannot be read back: an unknown type or a missing field."""


def is_persisted(event: Event) -> bool:
    """Whether the log keeps `event`; presence, screens and renditions it does not."""
    return type(event) in _TYPE_OF


def event_to_wire(event: Event) -> dict[str, Any]:
    """`event` as a JSON-ready dict; TypeError for an event the log does not keep."""
    kind = _TYPE_OF.get(type(event))
    if kind is None:
        raise TypeError(f"{type(event).__name__} is not a persisted event")
    wire: dict[str, Any] = {"type": kind, "at": event.at}
    for f in fields(event):
        if f.name != "at":
            value = getattr(event, f.name)
            if isinstance(value, Entry):
                value = value.to_wire()
            elif isinstance(value, tuple):  # as JSON will read it back: lists
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            wire[f.name] = value
    return wire


def event_from_wire(wire: Mapping[str, Any]) -> Event:
    """The event `event_to_wire` made; WireError when `wire` is not one. Fields it does
    not know (written by a newer version) are ignored; a field added later with a
    default may be missing (written by an older version)."""
    cls = PERSISTED.get(str(wire.get("type")))
    if cls is None:
        raise WireError(f"unknown event type {str(wire.get('type'))[:40]!r}")
    values: dict[str, Any] = {}
    try:
        for f in fields(cls):
            if f.name not in wire and f.default is not MISSING:
                continue
            value = wire[f.name]
            if f.name == "entry":
                value = Entry.from_wire(value)
            elif f.name == "pages":  # HallsPresent: JSON has lists where the event has tuples
                value = tuple((str(conn), str(hall)) for conn, hall in value)
            values[f.name] = value
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"{wire.get('type')} event lacks or garbles {exc}") from None
    return cls(**values)
