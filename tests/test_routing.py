"""Which source each received track follows: the floor policy in media words."""

from __future__ import annotations

import pytest

from rooms import EndFloor, GrantFloor, MuteHall, RaiseHand, Routing, mix_inputs, source_for
from rooms.commands import PublishStarted, PublishStopped
from rooms.errors import NotPermitted
from tests.floor_builders import floor_room
from tests.room_builders import T0

NO_FLOOR = Routing()
THON_2 = Routing("thon-2")
THON_2_MUTED = Routing("thon-2", frozenset({"thon-2"}))
OTHER_MUTED = Routing("thon-2", frozenset({"thon-3"}))
SLIDES = Routing(slides=True)
THON_2_OVER_SLIDES = Routing("thon-2", slides=True)


@pytest.mark.parametrize(
    ("slot", "kind", "view", "own_hall", "source"),
    [
        # the program: whoever is on air, for any key
        ("program-video", "video", NO_FLOOR, None, "chair"),
        ("program-video", "video", THON_2, None, "hall:thon-2"),
        ("program-video", "video", THON_2, "thon-2", "hall:thon-2"),
        ("program-audio", "audio", NO_FLOOR, None, "mix"),
        ("program-audio", "audio", THON_2_MUTED, "thon-5", "mix"),
        # a hall TV: the chair always, the floor unless it is the hall itself
        ("chair-video", "video", THON_2, "thon-1", "chair"),
        ("chair-audio", "audio", THON_2, "thon-2", "chair"),
        ("floor-video", "video", NO_FLOOR, "thon-1", None),
        ("floor-audio", "audio", NO_FLOOR, "thon-1", None),
        ("floor-video", "video", THON_2, "thon-1", "hall:thon-2"),
        ("floor-audio", "audio", THON_2, "thon-1", "hall:thon-2"),
        ("floor-video", "video", THON_2, "thon-2", None),  # no mirror
        ("floor-audio", "audio", THON_2, "thon-2", None),  # no echo
        ("floor-video", "video", THON_2_MUTED, "thon-1", "hall:thon-2"),  # seen, not heard
        ("floor-audio", "audio", THON_2_MUTED, "thon-1", None),
        ("floor-audio", "audio", OTHER_MUTED, "thon-1", "hall:thon-2"),
        # the chair console: every hall's picture, floor or not; the floor's voice
        ("hall-video:thon-1", "video", NO_FLOOR, None, "hall:thon-1"),
        ("hall-video:thon-2", "video", THON_2_MUTED, None, "hall:thon-2"),
        ("floor-audio", "audio", THON_2, None, "hall:thon-2"),
        # slides: large on the program and in a TV's slides slot; a speaking hall comes first
        ("program-video", "video", SLIDES, None, "slides"),
        ("program-video", "video", THON_2_OVER_SLIDES, None, "hall:thon-2"),
        ("slides-video", "video", SLIDES, "thon-1", "slides"),
        ("slides-video", "video", THON_2_OVER_SLIDES, "thon-2", "slides"),
        ("slides-video", "video", NO_FLOOR, "thon-1", None),
        ("chair-video", "video", SLIDES, "thon-1", "chair"),
        ("slides-video", "audio", SLIDES, "thon-1", None),
        # nonsense is nobody's track
        ("program-video", "audio", THON_2, None, None),
        ("floor-audio", "video", THON_2, "thon-1", None),
        ("hall-video:thon-1", "audio", NO_FLOOR, None, None),
        ("back-door", "video", THON_2, None, None),
    ],
)
def test_each_slot_follows_its_source(
    slot: str, kind: str, view: Routing, own_hall: str | None, source: str | None
) -> None:
    assert source_for(slot, kind, view, own_hall) == source


@pytest.mark.parametrize(
    ("view", "inputs"),
    [
        (NO_FLOOR, ("chair", None)),
        (THON_2, ("chair", "hall:thon-2")),
        (THON_2_MUTED, ("chair", None)),
        (OTHER_MUTED, ("chair", "hall:thon-2")),
    ],
)
def test_the_program_mix_takes_the_chair_and_the_floor_unless_muted(
    view: Routing, inputs: tuple[str | None, str | None]
) -> None:
    assert mix_inputs(view) == inputs


def test_the_rooms_routing_follows_grants_ends_and_mutes() -> None:
    room = floor_room()
    assert room.routing() == THON_2
    room.handle(MuteHall("chair", "thon-2", True), at=T0 + 10)
    assert room.routing() == THON_2_MUTED
    room.handle(EndFloor("chair"), at=T0 + 11)
    assert room.routing() == Routing(None, frozenset({"thon-2"}))
    room.handle(RaiseHand("thon-3"), at=T0 + 12)
    room.handle(GrantFloor("chair", "e4"), at=T0 + 13)
    assert source_for("floor-audio", "audio", room.routing(), "thon-1") == "hall:thon-3"
    assert mix_inputs(room.routing()) == ("chair", "hall:thon-3")


def test_only_the_chair_shares_a_screen_and_routing_follows_it_on_and_off() -> None:
    room = floor_room()
    with pytest.raises(NotPermitted):
        room.handle(PublishStarted("h-screen", "hall", "thon-3", "VP8", None, screen=True), at=T0)
    room.handle(PublishStarted("camera", "chair", None, "VP8", "opus"), at=T0 + 9)
    room.handle(PublishStarted("screen", "chair", None, "VP8", None, screen=True), at=T0 + 10)
    assert room.routing() == THON_2_OVER_SLIDES
    assert room.snapshot()["slides"] is True
    assert room.stream_live("chair")  # the camera goes on beside the slides
    room.handle(PublishStopped("screen"), at=T0 + 11)
    assert room.routing() == THON_2
