"""The register's due dates and overdue rule, with the clock passed in."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from rooms.register import DUE_TODAY, OVERDUE, PENDING, SETTLED_STATE, DuePolicy, local_date


def vn(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    """Unix time of a wall-clock moment in Vietnam (UTC+7)."""
    return datetime(year, month, day, hour, minute, tzinfo=timezone(timedelta(hours=7))).timestamp()


def test_the_date_is_the_communes_own_even_late_at_night_utc() -> None:
    assert local_date(vn(2026, 11, 29, 6, 30)) == date(2026, 11, 29)
    assert local_date(vn(2026, 11, 29, 23, 59)) == date(2026, 11, 29)


def test_a_question_is_due_ten_days_after_the_day_it_was_asked() -> None:
    policy = DuePolicy()
    assert policy.due(vn(2026, 11, 29, 9)) == date(2026, 12, 9)
    assert DuePolicy(3).due(vn(2026, 12, 30, 20)) == date(2027, 1, 2)


def test_an_unanswered_question_becomes_overdue_the_day_after_its_due_date() -> None:
    policy = DuePolicy(10)
    asked = vn(2026, 11, 29, 9)
    assert not policy.overdue("open", asked, at=vn(2026, 12, 9, 23, 59))
    assert policy.state("open", asked, at=vn(2026, 12, 9, 8)) == DUE_TODAY
    assert policy.overdue("open", asked, at=vn(2026, 12, 10, 0, 1))
    assert policy.state("follow-up", asked, at=vn(2026, 12, 10, 9)) == OVERDUE
    assert policy.state("forwarded", asked, at=vn(2026, 12, 1, 9)) == PENDING
    assert policy.days_left(asked, at=vn(2026, 12, 1, 9)) == 8


def test_an_answered_question_is_never_overdue() -> None:
    policy = DuePolicy(10)
    asked = vn(2026, 11, 29, 9)
    assert not policy.overdue("answered", asked, at=vn(2027, 6, 1, 9))
    assert policy.state("answered", asked, at=vn(2027, 6, 1, 9)) == SETTLED_STATE


@pytest.mark.parametrize("days", [0, -1, 366])
def test_a_due_period_outside_one_day_to_a_year_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="due_days"):
        DuePolicy(days)
