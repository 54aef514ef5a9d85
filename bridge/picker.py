"""Chooses which of the chair's renditions fits one hall's link, from what that hall reports.

The chair sends its camera twice: full (720p, about 2 Mbps) and light (360p,
about 400 kbps). A hall's receiver reports say how much it loses; its REMB,
when it sends one, says what it thinks it can take; a consumer that had to
drop its queue has stalled. Down is quick, because a hall losing packets
shows a damaged picture. Up is slow and careful: after a quiet hold the hall
tries the full stream again, and if that fails soon, it waits twice as long
before the next try, so a marginal link does not flap. A REMB never holds a
hall down: measured on the light stream, it cannot know the link has room.
"""

from __future__ import annotations

FULL, LIGHT = 0, 1

LOSS_DOWN = 0.08  # a report losing this much, twice in a row, steps down
LOSS_DOWN_AT_ONCE = 0.2  # one report this bad steps down at once
LOSS_QUIET = 0.02  # reports below this count as a clean link
HOLD_UP = 15.0  # seconds of clean link on the light stream before trying the full one
MAX_HOLD_UP = 300.0  # a link that keeps failing is tried every five minutes
FAILED_TRY = 20.0  # stepping down this soon after stepping up doubles the hold
# Three REMBs in a row below this share of the full stream's bitrate step down. A
# browser's receive-side estimate follows what arrives (we forward no abs-send-time),
# so it wanders below a small stream's rate: only a substantial stream is judged by it.
REMB_DOWN = 0.5
REMB_ROUNDS = 3
REMB_MIN_FULL = 500_000  # bits per second


class RenditionPicker:
    """Pure: the caller passes the time and the figures; `choice` is the rendition index."""

    def __init__(self, *, hold_up: float = HOLD_UP) -> None:
        self.choice = FULL
        self.hold_up = hold_up
        self._base_hold = hold_up
        self._bad_reports = 0
        self._quiet_since: float | None = None
        self._changed_at = 0.0
        self._low_rembs = 0
        self.switches = 0

    def report(self, fraction_lost: float, now: float) -> int:
        """A receiver report for the stream this hall gets now; returns the choice."""
        if fraction_lost >= LOSS_DOWN_AT_ONCE:
            self._bad_reports = 2
        elif fraction_lost >= LOSS_DOWN:
            self._bad_reports += 1
        else:
            self._bad_reports = 0
        if fraction_lost >= LOSS_QUIET:
            self._quiet_since = None
        elif self._quiet_since is None:
            self._quiet_since = now
        if self.choice == FULL and self._bad_reports >= 2:
            self._step_down(now)
        elif self.choice == LIGHT and self._may_step_up(now):
            self._set(FULL, now)
        return self.choice

    def remb(self, bitrate: float, now: float, full_bitrate: float | None) -> int:
        """The hall's own estimate of what its link carries, while it gets the full stream."""
        if self.choice != FULL or not full_bitrate or full_bitrate < REMB_MIN_FULL:
            return self.choice
        self._low_rembs = self._low_rembs + 1 if bitrate < full_bitrate * REMB_DOWN else 0
        if self._low_rembs >= REMB_ROUNDS:
            self._step_down(now)
        return self.choice

    def stalled(self, now: float) -> int:
        """The hall's queue overflowed: it cannot take what it gets."""
        self._quiet_since = None
        if self.choice == FULL:
            self._step_down(now)
        return self.choice

    def _may_step_up(self, now: float) -> bool:
        quiet = self._quiet_since is not None and now - self._quiet_since >= self.hold_up
        return quiet and now - self._changed_at >= self.hold_up

    def _step_down(self, now: float) -> None:
        if now - self._changed_at < FAILED_TRY and self.switches:
            self.hold_up = min(self.hold_up * 2, MAX_HOLD_UP)  # the last try up failed
        elif now - self._changed_at > FAILED_TRY * 3:
            self.hold_up = self._base_hold  # the full stream held for a good while
        self._quiet_since = None
        self._bad_reports = 0
        self._low_rembs = 0
        self._set(LIGHT, now)

    def _set(self, choice: int, now: float) -> None:
        self.choice = choice
        self._changed_at = now
        self.switches += 1
