"""Which rendition of the chair's camera each hall gets, as the room records and shows it."""

from __future__ import annotations

import pytest

from rooms import MediaStarted, MediaStopped, RenditionChanged, RenditionSwitched, UnknownConnection
from tests.room_builders import T0, new_room


def _rendition(room_snapshot: dict[str, object], hall_id: str) -> object:
    halls = room_snapshot["halls"]
    assert isinstance(halls, list)
    return next(h["rendition"] for h in halls if h["id"] == hall_id)


def test_a_watching_hall_gets_the_full_picture_until_its_link_says_otherwise() -> None:
    room = new_room()
    assert _rendition(room.snapshot(), "thon-1") is None  # not watching
    room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0)
    assert _rendition(room.snapshot(), "thon-1") == "full"
    events = room.handle(RenditionChanged("s1", "light"), at=T0 + 5)
    assert events == [RenditionSwitched("thon-1", "light", at=T0 + 5)]
    assert _rendition(room.snapshot(), "thon-1") == "light"
    assert room.handle(RenditionChanged("s1", "light"), at=T0 + 6) == []  # no change


def test_a_hall_that_rejoins_starts_on_the_full_picture_again() -> None:
    room = new_room()
    room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0)
    room.handle(RenditionChanged("s1", "light"), at=T0 + 1)
    room.handle(MediaStopped("s1"), at=T0 + 2)
    room.handle(MediaStarted("s2", "hall", "thon-1"), at=T0 + 3)
    assert _rendition(room.snapshot(), "thon-1") == "full"


def test_a_rendition_for_an_unknown_session_or_of_an_unknown_kind_is_refused() -> None:
    room = new_room()
    with pytest.raises(UnknownConnection):
        room.handle(RenditionChanged("nope", "light"), at=T0)
    room.handle(MediaStarted("s1", "hall", "thon-1"), at=T0)
    with pytest.raises(ValueError, match="unknown rendition"):
        room.handle(RenditionChanged("s1", "4k"), at=T0)
    assert _rendition(room.snapshot(), "thon-1") == "full"
