"""The floor as one hall holds it: who, since when, for how long, what was already said."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.entry import Entry


@dataclass(frozen=True)
class Turn:
    """`limit` counts from the grant and grows with each extension."""

    entry: Entry
    granted_at: float
    limit: int
    warned: bool = False  # FloorTimeWarning was sent for this limit
    overtime: bool = False  # FloorOvertime was sent for this limit

    @property
    def hall_id(self) -> str:
        return self.entry.hall_id

    @property
    def deadline(self) -> float:
        return self.granted_at + self.limit
