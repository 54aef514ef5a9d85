"""One announcement of the public board, and what makes one valid: a title, a text, an
optional picture, and the days it is shown. Text is data, shown with textContent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from rooms.entry import clean_title
from rooms.errors import BadValue
from rooms.schedule import HORIZON, clean_lines

TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Announcement:
    """`starts_at`/`ends_at` None: shown from now on / until removed. `image` is the file
    name under data_dir/announcements/, or None."""

    id: str
    title: str
    text: str = ""
    starts_at: float | None = None
    ends_at: float | None = None
    image: str | None = None
    updated_at: float = 0.0

    def showing(self, at: float) -> bool:
        begun = self.starts_at is None or self.starts_at <= at
        return begun and (self.ends_at is None or at < self.ends_at)

    def to_wire(self, at: float | None = None) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            # A new picture gets a new name, so a board never shows a stale cached one.
            "image": None if self.image is None else f"/announcements/images/{self.image}",
            "updated_at": self.updated_at,
        }
        if at is not None:
            wire["showing"] = self.showing(at)
        return wire


@dataclass(frozen=True)
class Draft:
    """The fields a form sent; None leaves a field as it was (on an edit)."""

    title: str | None = None
    text: str | None = None
    starts_at: float | None = None
    ends_at: float | None = None
    clear_starts: bool = False  # the form sent an empty start: shown from now on
    clear_ends: bool = False


def _time(value: float | None, field: str, at: float) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or value < 0:
        raise BadValue(field, f"{field} must be a time (seconds since 1970)")
    if value > at + HORIZON:
        raise BadValue(field, f"{field} is more than two years away")
    return value


def apply_draft(old: Announcement, draft: Draft, at: float) -> Announcement:
    """`old` with the draft's fields, cleaned and checked; BadValue names what is wrong."""
    title = clean_title(old.title if draft.title is None else draft.title)
    if not title:
        raise BadValue("title", "an announcement needs a title")
    text = old.text if draft.text is None else clean_lines(draft.text, TEXT_LIMIT, "text")
    starts = None if draft.clear_starts else old.starts_at
    ends = None if draft.clear_ends else old.ends_at
    starts = _time(draft.starts_at, "starts_at", at) if draft.starts_at is not None else starts
    ends = _time(draft.ends_at, "ends_at", at) if draft.ends_at is not None else ends
    if starts is not None and ends is not None and ends <= starts:
        raise BadValue("ends_at", "the end must come after the start")
    return replace(old, title=title, text=text, starts_at=starts, ends_at=ends, updated_at=at)
