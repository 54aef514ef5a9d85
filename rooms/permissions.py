"""Roles and what each may do, as data: code asks for a permission, never for a role name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from rooms.errors import UnknownRole

# Send a stream over WHIP: the chair its camera, a hall its own camera and microphone.
PUBLISH = "publish"
WATCH = "watch"
SEE_HALLS = "see_halls"
# Speak for a hall's TV: report what it shows. Only a hall key does, since a report
# is filed under the hall the key is bound to.
REPORT_SCREEN = "report_screen"

# The floor. A role bound to a hall raises and withdraws for that hall only;
# RAISE_FOR_ANY_HALL lets a role raise, and withdraw, for any hall.
RAISE_HAND = "raise_hand"
RAISE_FOR_ANY_HALL = "raise_for_any_hall"
GRANT_FLOOR = "grant_floor"
END_FLOOR = "end_floor"  # end whoever holds the floor
END_OWN_FLOOR = "end_own_floor"  # a hall ends its own turn
MOVE_ENTRY = "move_entry"
MUTE = "mute"
EXTEND_FLOOR = "extend_floor"
EDIT_ENTRIES = "edit_entries"
MANAGE_MEETING = "manage_meeting"  # open and close the meeting
ANSWER_CONSENT = "answer_consent"  # the hall holding the floor agrees to be recorded, or not
# The record: write notes and set each question's status; list, export and download
# the minutes, the register and the recordings (and read the access log).
KEEP_MINUTES = "keep_minutes"
EXPORT_RECORDS = "export_records"


@dataclass(frozen=True)
class Role:
    """What a role may do, and whether it always speaks for one hall."""

    permissions: frozenset[str]
    # A hall key is bound to its hall: such a role must name that hall, others must not.
    bound_to_hall: bool = False
    # A crowd role (the public board): its pages are counted for the log, not named one by one.
    counted_only: bool = False


ROLES: Mapping[str, Role] = MappingProxyType(
    {
        "chair": Role(
            frozenset(
                {
                    PUBLISH,
                    WATCH,
                    SEE_HALLS,
                    RAISE_HAND,
                    RAISE_FOR_ANY_HALL,
                    GRANT_FLOOR,
                    END_FLOOR,
                    MOVE_ENTRY,
                    MUTE,
                    EXTEND_FLOOR,
                    EDIT_ENTRIES,
                    MANAGE_MEETING,
                    KEEP_MINUTES,
                    EXPORT_RECORDS,
                }
            )
        ),
        "secretary": Role(
            frozenset({WATCH, SEE_HALLS, EDIT_ENTRIES, KEEP_MINUTES, EXPORT_RECORDS})
        ),
        "viewer": Role(frozenset({WATCH}), counted_only=True),
        "hall": Role(
            frozenset({PUBLISH, WATCH, REPORT_SCREEN, RAISE_HAND, END_OWN_FLOOR, ANSWER_CONSENT}),
            bound_to_hall=True,
        ),
    }
)


def role(name: str) -> Role:
    """The Role called `name`; raises UnknownRole for any other name."""
    try:
        return ROLES[name]
    except KeyError:
        raise UnknownRole(f"unknown role {name!r}") from None


def permissions_for(name: str) -> frozenset[str]:
    """The permissions of role `name`; raises UnknownRole for any other name."""
    return role(name).permissions
