"""Which source feeds each received track (slot) of a watching session: the floor
policy in media words. Pure: web/ asks it on every floor change and tells the bridge.

Sources name one publisher's stream: "chair", "hall:<id>", "slides" (the chair's shared
screen), "mix" (the program audio). None means the consumer is paused: it gets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

CHAIR = "chair"
MIX = "mix"
SLIDES = "slides"
_HALL_PREFIX = "hall:"
_HALL_VIDEO_PREFIX = "hall-video:"


@dataclass(frozen=True)
class Routing:
    """What routing needs to know of the room: who holds the floor, who is muted, and
    whether the chair shares a screen."""

    floor_hall: str | None = None
    muted: frozenset[str] = frozenset()
    slides: bool = False


def hall_source(hall_id: str) -> str:
    return _HALL_PREFIX + hall_id


def hall_of(source: str) -> str | None:
    """The hall a "hall:<id>" source names; None for any other source."""
    return source[len(_HALL_PREFIX) :] if source.startswith(_HALL_PREFIX) else None


def source_for(slot: str, kind: str, view: Routing, own_hall: str | None) -> str | None:
    """The source `slot` (of media `kind`, "audio" or "video") of a session owned by
    `own_hall` (None for a non-hall key) should follow now; None: nothing, paused."""
    if _kind_of(slot) != kind:
        return None  # a slot asked for the other kind of media is nobody's track
    floor = view.floor_hall
    if slot == "program-video":
        # One picture: whoever speaks from a hall, else the slides being taught, else the chair.
        if floor is not None:
            return hall_source(floor)
        return SLIDES if view.slides else CHAIR
    if slot == "slides-video":
        return SLIDES if view.slides else None
    if slot == "program-audio":
        return MIX
    if slot in ("chair-video", "chair-audio"):
        return CHAIR
    if slot in ("floor-video", "floor-audio"):
        # A hall never gets itself back: no echo of its own voice, no mirror of its picture.
        if floor is None or floor == own_hall:
            return None
        if slot == "floor-audio" and floor in view.muted:
            return None
        return hall_source(floor)
    if slot.startswith(_HALL_VIDEO_PREFIX):
        # The chair's grid sees every hall, floor or not: attendance at a glance.
        return hall_source(slot[len(_HALL_VIDEO_PREFIX) :])
    return None


def _kind_of(slot: str) -> str | None:
    if slot.endswith("-audio"):
        return "audio"
    if slot.endswith("-video") or slot.startswith(_HALL_VIDEO_PREFIX):
        return "video"
    return None


def mix_inputs(view: Routing) -> tuple[str | None, str | None]:
    """The program mix's two inputs: the chair, and the floor hall unless none or muted."""
    floor = view.floor_hall
    if floor is None or floor in view.muted:
        return CHAIR, None
    return CHAIR, hall_source(floor)
