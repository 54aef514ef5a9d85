"""Roles and their permissions, as data."""

from __future__ import annotations

import pytest

from rooms import (
    UnknownRole,
    permissions_for,
)


def test_each_role_has_exactly_its_permissions() -> None:
    assert permissions_for("chair") == {"publish", "watch", "see_halls"}
    assert permissions_for("secretary") == {"watch", "see_halls"}
    assert permissions_for("viewer") == {"watch"}
    assert permissions_for("hall") == {"watch", "report_screen"}


def test_unknown_role_has_no_permissions() -> None:
    with pytest.raises(UnknownRole):
        permissions_for("mayor")
