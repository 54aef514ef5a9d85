"""Properties of the floor for any sequence of moves, refused ones included (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from rooms import (
    AnswerConsent,
    CloseMeeting,
    Command,
    Connect,
    Disconnect,
    EditEntry,
    EndFloor,
    EntryMoved,
    Event,
    ExtendFloor,
    FloorEnded,
    FloorGranted,
    GrantFloor,
    HallsPresent,
    HandRaised,
    LinkQuality,
    MeetingOpened,
    MoveEntry,
    MuteHall,
    OpenMeeting,
    ParticipantJoined,
    ParticipantLeft,
    PublishStarted,
    PublishStopped,
    RaiseHand,
    RoomError,
    StreamEnded,
    StreamLive,
    Tick,
    ViewerCount,
    WithdrawHand,
)
from rooms.wire import PERSISTED
from tests.floor_builders import PAGES, LoggedRoom, durable, meeting_room
from tests.room_builders import T0

# Weighted towards moves that succeed, so sequences reach grants, moves and restarts.
chair_mostly = st.sampled_from(["chair"] * 5 + ["thon-1", "secretary", "viewer"])
senders = st.sampled_from(sorted(PAGES))
raisers = st.sampled_from(["thon-1", "thon-2", "thon-3"] * 2 + ["chair", "viewer"])
# "q<i>" stands for whatever entry is i-th in the queue when the move is played
# (see `aimed`), so grants and moves find real entries; "e<n>" hits stale and unknown ids.
entries = st.sampled_from([f"e{n}" for n in range(1, 9)] + ["q0", "q0", "q1", "q1", "q2", "q3"])
halls = st.sampled_from(["thon-1", "thon-2", "thon-3", "thon-3", "thon-9"])
usual_words = st.sampled_from(["", "", "Ông Ba", "<img src=x onerror=alert(1)>", " \t\n", "x" * 61])
words = usual_words | usual_words | st.text(st.characters(exclude_categories=["Cs"]), max_size=70)
sessions = st.sampled_from([f"s{n}" for n in range(6)])


def weighted(*choices: tuple[int, st.SearchStrategy[Command]]) -> st.SearchStrategy[Command]:
    """One of `choices`, each as often as its weight (st.one_of merges equal branches)."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(table).flatmap(lambda strategy: strategy)


commands = weighted(
    (6, st.builds(RaiseHand, raisers, st.one_of(st.none(), halls), words, words)),
    (4, st.builds(GrantFloor, chair_mostly, entries)),
    (2, st.builds(WithdrawHand, raisers, entries)),
    (2, st.builds(EndFloor, senders)),
    (3, st.builds(MoveEntry, chair_mostly, entries, st.integers(-1, 6))),
    (1, st.builds(MuteHall, chair_mostly, halls, st.booleans())),
    (1, st.builds(ExtendFloor, chair_mostly, st.sampled_from([-5, 0, 30, 60, 700]))),
    (2, st.builds(EditEntry, senders, entries, st.none() | words, st.none() | words)),
    (2, st.builds(AnswerConsent, senders, st.booleans())),
    (2, st.builds(OpenMeeting, chair_mostly, words)),
    (1, st.builds(CloseMeeting, senders)),
    (
        2,
        st.builds(
            PublishStarted,
            sessions,
            st.just("hall"),
            halls,
            st.just("VP8"),
            st.just("opus"),
            st.floats(T0, T0 + 2000),
        ),
    ),
    (
        1,
        st.builds(PublishStarted, sessions, st.just("chair"), st.none(), st.just("VP8"), st.none()),
    ),
    (2, st.builds(PublishStopped, sessions)),
    (1, st.builds(Connect, st.sampled_from(["v1", "v2"]), st.just("viewer"))),
    (1, st.builds(Disconnect, st.sampled_from(["v1", "v2"]))),
    (2, st.just(Tick())),
)
pauses = st.sampled_from([0.0, 0.0, 0.5, 4.0, 11.0, 40.0, 200.0])
steps = st.lists(st.tuples(commands, pauses), min_size=15, max_size=80)


# What the floor decides; presence and streams are left out (a restart loses them).
FLOOR_EVENTS = tuple(
    kind
    for kind in PERSISTED.values()
    if kind
    not in (
        ParticipantJoined,
        ParticipantLeft,
        ViewerCount,
        StreamLive,
        StreamEnded,
        HallsPresent,  # pages, and the screens LinkQuality sums up, are not replayed
        LinkQuality,
    )
)


def aimed(command: Command, room: LoggedRoom) -> Command:
    entry_id = getattr(command, "entry_id", "")
    if not entry_id.startswith("q"):
        return command
    index = int(entry_id[1:])
    queue = room.queue
    entry_id = queue[index].id if index < len(queue) else "e99"
    return replace(command, entry_id=entry_id)  # type: ignore[call-arg]


def play(moves: list[tuple[Command, float]]) -> LoggedRoom:
    room = meeting_room()
    at = T0 + 1
    for command, dt in moves:
        at += dt
        try:
            room.handle(aimed(command, room), at=at)
        except RoomError:
            pass  # refused moves change nothing (test_floor.py); the rest goes on
        check_invariants(room)
    return room


def this_meetings(events: list[Event]) -> list[Event]:
    opened = max(i for i, e in enumerate(events) if isinstance(e, MeetingOpened))
    return events[opened:]


def check_invariants(room: LoggedRoom) -> None:
    queued = [e.id for e in room.queue]
    assert len(queued) == len(set(queued)), "an entry is queued twice"
    assert len(room.queue) == len(set(room.queue))
    if room.floor is not None:
        assert room.floor.entry.id not in queued, "the speaker is still queued"
        assert room.routing().floor_hall == room.floor.hall_id
    else:
        assert room.routing().floor_hall is None
    # At most one floor: grants and ends alternate, whatever happened.
    open_floors = 0
    for event in room.events:
        if isinstance(event, FloorGranted):
            assert open_floors == 0, "a grant while another floor is open"
            open_floors = 1
        elif isinstance(event, FloorEnded):
            assert open_floors == 1, "an end with no floor open"
            open_floors = 0
    assert open_floors == (room.floor is not None)
    if room.meeting is None:
        assert (room.queue, room.floor, room.muted) == ((), None, frozenset())
        return
    meeting = this_meetings(room.events)
    raised = [e.entry.id for e in meeting if isinstance(e, HandRaised)]
    assert set(queued) <= set(raised), "a queued entry nobody raised"
    if not any(isinstance(e, EntryMoved) for e in meeting):
        # Raise order: ids come from one counter, so raise order is id order.
        assert queued == sorted(queued, key=lambda i: raised.index(i))


@settings(max_examples=200, deadline=None)
@given(steps)
def test_any_sequence_of_moves_keeps_one_floor_and_a_clean_queue(
    moves: list[tuple[Command, float]],
) -> None:
    play(moves)


@settings(max_examples=200, deadline=None)
@given(steps, st.lists(commands, max_size=8))
def test_replaying_the_log_gives_the_same_meeting_queue_floor_and_mutes(
    moves: list[tuple[Command, float]], more: list[Command]
) -> None:
    room = play(moves)
    fresh = room.restarted()
    assert durable(fresh) == durable(room)
    assert fresh.routing() == room.routing()
    # The rebuilt room also decides the next moves as the old one would (entry ids,
    # "was withdrawn"…). Pages and streams are what a restart loses on purpose, so the
    # chair and secretary reconnect, and a floor whose hall is already gone is left out.
    if room.floor is not None and not room.stream_live(f"hall:{room.floor.hall_id}"):
        return
    at = (room.snapshot()["now"] or T0) + 1
    fresh.handle(Connect("chair", "chair"), at=at)
    fresh.handle(Connect("secretary", "secretary"), at=at)
    for command in more:
        if getattr(command, "conn_id", None) not in ("chair", "secretary"):
            continue
        command = aimed(command, room)  # once: the first handle changes the queue
        outcomes: list[list[object]] = []
        for r in (room, fresh):
            try:
                events = r.handle(command, at=at)
                outcomes.append([e for e in events if type(e) in FLOOR_EVENTS])
            except RoomError as exc:
                outcomes.append([type(exc).__name__, str(exc)])
        assert outcomes[0] == outcomes[1]
    assert durable(fresh) == durable(room)
