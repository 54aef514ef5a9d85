"""Roles and what each may do, as data: code asks for a permission, never for a role name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from rooms.errors import UnknownRole

PUBLISH = "publish"
WATCH = "watch"
SEE_HALLS = "see_halls"
# Speak for a hall's TV: report what it shows. Only a hall key does, since a report
# is filed under the hall the key is bound to.
REPORT_SCREEN = "report_screen"


@dataclass(frozen=True)
class Role:
    """What a role may do, and whether it always speaks for one hall."""

    permissions: frozenset[str]
    # A hall key is bound to its hall: such a role must name that hall, others must not.
    bound_to_hall: bool = False


ROLES: Mapping[str, Role] = MappingProxyType(
    {
        "chair": Role(frozenset({PUBLISH, WATCH, SEE_HALLS})),
        "secretary": Role(frozenset({WATCH, SEE_HALLS})),
        "viewer": Role(frozenset({WATCH})),
        "hall": Role(frozenset({WATCH, REPORT_SCREEN}), bound_to_hall=True),
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
