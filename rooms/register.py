"""When a citizen's question must be answered: the question register's one rule, pure.

A question granted the floor on day D is due by the end of day D + due_days in the
commune's own calendar (Vietnam, UTC+7 all year round), and is overdue from the next
day on until it is answered. The caller passes the time (`at=`): there is no clock here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DUE_DAYS = 10  # the default
MAX_DUE_DAYS = 365
# Vietnam has kept UTC+7 without daylight saving since 1975, so a fixed offset is exact.
VIETNAM_OFFSET = timedelta(hours=7)
# A question leaves the register's worry list only when it is answered: one that was
# forwarded to the district, or needs follow-up, is still owed an answer.
SETTLED = frozenset({"answered"})

# What the register says of a question at a given time.
SETTLED_STATE = "settled"
OVERDUE = "overdue"
DUE_TODAY = "due-today"
PENDING = "pending"


def local_date(at: float) -> date:
    """The date in the commune at Unix time `at`."""
    return (datetime.fromtimestamp(at, UTC) + VIETNAM_OFFSET).date()


@dataclass(frozen=True)
class DuePolicy:
    """How many days the commune gives itself to answer a question."""

    due_days: int = DUE_DAYS

    def __post_init__(self) -> None:
        if not 1 <= self.due_days <= MAX_DUE_DAYS:
            raise ValueError(f"due_days {self.due_days} is not in 1…{MAX_DUE_DAYS}")

    def due(self, granted_at: float) -> date:
        """The last day on which an answer to a question granted at `granted_at` is on time."""
        return local_date(granted_at) + timedelta(days=self.due_days)

    def overdue(self, status: str, granted_at: float, at: float) -> bool:
        return status not in SETTLED and local_date(at) > self.due(granted_at)

    def days_left(self, granted_at: float, at: float) -> int:
        """Whole days from `at`'s date to the due date; negative once it has passed."""
        return (self.due(granted_at) - local_date(at)).days

    def state(self, status: str, granted_at: float, at: float) -> str:
        """settled, overdue, due-today or pending: what the register page marks."""
        return standing(status, self.due(granted_at), at)


def standing(status: str, due: date, at: float) -> str:
    """The state of a question with a due date already set (a register row keeps the
    date it got when asked, even if the config's due_days changed since)."""
    if status in SETTLED:
        return SETTLED_STATE
    left = (due - local_date(at)).days
    if left < 0:
        return OVERDUE
    return DUE_TODAY if left == 0 else PENDING
