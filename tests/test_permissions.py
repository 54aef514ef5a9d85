"""Roles and their permissions, as data."""

from __future__ import annotations

import pytest

from rooms import (
    UnknownRole,
    permissions_for,
)
from rooms.permissions import ROLES, role

FLOOR_CONTROL = {
    "grant_floor",
    "end_floor",
    "move_entry",
    "mute",
    "extend_floor",
    "manage_meeting",
    "raise_for_any_hall",
}


def test_each_role_has_exactly_its_permissions() -> None:
    assert (
        permissions_for("chair")
        == {
            "publish",
            "watch",
            "see_halls",
            "raise_hand",
            "edit_entries",
            "keep_minutes",
            "export_records",
        }
        | FLOOR_CONTROL
    )
    assert permissions_for("secretary") == {
        "watch",
        "see_halls",
        "edit_entries",
        "keep_minutes",
        "export_records",
    }
    assert permissions_for("viewer") == {"watch"}
    assert permissions_for("hall") == {
        "publish",
        "watch",
        "report_screen",
        "raise_hand",
        "end_own_floor",
        "answer_consent",
    }


def test_only_the_chair_controls_the_floor() -> None:
    for name in ROLES:
        held = permissions_for(name) & FLOOR_CONTROL
        assert held == (FLOOR_CONTROL if name == "chair" else set()), name


def test_only_a_hall_is_bound_to_one_hall_and_only_viewers_are_a_counted_crowd() -> None:
    assert [n for n in ROLES if role(n).bound_to_hall] == ["hall"]
    assert [n for n in ROLES if role(n).counted_only] == ["viewer"]


def test_unknown_role_has_no_permissions() -> None:
    with pytest.raises(UnknownRole):
        permissions_for("mayor")
