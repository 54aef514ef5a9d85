"""The queue and floor moves a page may make, each checked against the sender's
permissions before the floor (rooms/floor.py) carries it out. Pure, like the room."""

from __future__ import annotations

from rooms.commands import (
    AnswerConsent,
    Command,
    EditEntry,
    EndFloor,
    ExtendFloor,
    GrantFloor,
    MoveEntry,
    MuteHall,
    RaiseHand,
    WithdrawHand,
)
from rooms.errors import BadValue, NotPermitted
from rooms.events import Event
from rooms.floor import Floor
from rooms.permissions import (
    ANSWER_CONSENT,
    EDIT_ENTRIES,
    END_FLOOR,
    END_OWN_FLOOR,
    EXTEND_FLOOR,
    GRANT_FLOOR,
    MOVE_ENTRY,
    MUTE,
    RAISE_FOR_ANY_HALL,
    RAISE_HAND,
)
from rooms.presence import Attachment, Presence


def sender(presence: Presence, conn_id: str, needs: str) -> Attachment:
    """The page `conn_id`, if its role holds `needs`; NotPermitted naming it otherwise."""
    who = presence.page(conn_id)
    if not who.may(needs):
        raise NotPermitted(f"role {who.role!r} may not {needs.replace('_', ' ')}")
    return who


def floor_move(cmd: Command, floor: Floor, presence: Presence, at: float) -> list[Event]:
    """Apply one queue or floor command at `at`; TypeError for any other command."""
    match cmd:
        case RaiseHand():
            who = sender(presence, cmd.conn_id, RAISE_HAND)
            hall_id = cmd.hall_id if cmd.hall_id is not None else who.hall_id
            if hall_id is None:
                raise BadValue("hall", "name the hall the hand is raised for")
            presence.hall(hall_id)
            if hall_id != who.hall_id and not who.may(RAISE_FOR_ANY_HALL):
                raise NotPermitted(
                    f"hall {who.hall_id!r} may raise a hand for itself only, not {hall_id!r}"
                )
            return floor.raise_hand(hall_id, cmd.name, cmd.topic, who.role, at)
        case WithdrawHand():
            who = sender(presence, cmd.conn_id, RAISE_HAND)
            if who.may(RAISE_FOR_ANY_HALL):
                return floor.withdraw(cmd.entry_id, None, who.role, at)
            if who.hall_id is None:
                raise NotPermitted(f"role {who.role!r} withdraws for no hall")
            return floor.withdraw(cmd.entry_id, who.hall_id, who.role, at)
        case GrantFloor():
            return floor.grant(cmd.entry_id, sender(presence, cmd.conn_id, GRANT_FLOOR).role, at)
        case EndFloor():
            who = presence.page(cmd.conn_id)
            if not who.may(END_FLOOR):
                if not who.may(END_OWN_FLOOR):
                    raise NotPermitted(f"role {who.role!r} may not end the floor")
                turn = floor.turn
                if turn is not None and turn.hall_id != who.hall_id:
                    raise NotPermitted(
                        f"hall {turn.hall_id!r} holds the floor, not {who.hall_id!r}"
                    )
            return floor.end(who.role, "ended", at)
        case MoveEntry():
            sender(presence, cmd.conn_id, MOVE_ENTRY)
            return floor.move(cmd.entry_id, cmd.position, at)
        case MuteHall():
            sender(presence, cmd.conn_id, MUTE)
            presence.hall(cmd.hall_id)
            return floor.mute(cmd.hall_id, cmd.muted, at)
        case ExtendFloor():
            sender(presence, cmd.conn_id, EXTEND_FLOOR)
            return floor.extend(cmd.seconds, at)
        case EditEntry():
            sender(presence, cmd.conn_id, EDIT_ENTRIES)
            return floor.edit(cmd.entry_id, cmd.name, cmd.topic, at)
        case AnswerConsent():
            who = sender(presence, cmd.conn_id, ANSWER_CONSENT)
            return floor.consent(who.hall_id or "", cmd.consent, at)
    raise TypeError(f"not a room command: {cmd!r}")
