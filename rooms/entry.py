"""One raised hand in the queue, and the cleaning of the words people type into it.

Names and topics are data, shown as text: cleaning makes them one tidy line, it
never escapes anything (that is the page's job when it sets textContent).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from rooms.errors import BadValue

DEFAULT_NAME = "Người dân"  # "a citizen": what the one-press raise on a TV remote gives
NAME_LIMIT = 60
TOPIC_LIMIT = 120
TITLE_LIMIT = 120
# Control, format (bidi overrides, zero-width) and surrogate characters: a name
# holding them could reorder or hide what the chair reads on the console.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


@dataclass(frozen=True)
class Entry:
    """A hand raised at `hall_id`. `consent` stays None until the hall answers on the floor."""

    id: str
    hall_id: str
    name: str
    topic: str
    raised_at: float
    consent: bool | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hall": self.hall_id,
            "name": self.name,
            "topic": self.topic,
            "raised_at": self.raised_at,
            "consent": self.consent,
        }

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> Entry:
        return cls(
            id=str(body["id"]),
            hall_id=str(body["hall"]),
            name=str(body["name"]),
            topic=str(body["topic"]),
            raised_at=float(body["raised_at"]),
            consent=body.get("consent"),
        )


def clean_text(text: str) -> str:
    """One line: NFC, control and format characters gone, whitespace runs made one space."""
    text = unicodedata.normalize("NFC", text)
    # split() first turns tabs and newlines into breaks, so "a\nb" reads "a b", not "ab".
    kept = (
        "".join(c for c in word if unicodedata.category(c) not in _DROPPED_CATEGORIES)
        for word in text.split()
    )
    return " ".join(word for word in kept if word)


def clean_name(name: str, field: str = "name") -> str:
    """A speaker's name as the queue keeps it; empty becomes DEFAULT_NAME."""
    return _bounded(clean_text(name), NAME_LIMIT, field) or DEFAULT_NAME


def clean_topic(topic: str, field: str = "topic") -> str:
    """A topic as the queue keeps it; empty is allowed."""
    return _bounded(clean_text(topic), TOPIC_LIMIT, field)


def clean_title(title: str, field: str = "title") -> str:
    return _bounded(clean_text(title), TITLE_LIMIT, field)


def _bounded(text: str, limit: int, field: str) -> str:
    if len(text) > limit:
        raise BadValue(field, f"{field} is {len(text)} characters long; at most {limit} fit")
    return text
