"""Wrong keys per address, and log lines nobody outside can multiply: plain synchronous tests."""

from __future__ import annotations

import logging

import pytest
from aiohttp.http_exceptions import LineTooLong

from web.backoff import KeyBackoff
from web.quietlog import QuietClientErrors, RateLimitedLog


def test_ten_wrong_keys_in_a_minute_hold_the_address_off_until_the_first_ages_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backoff = KeyBackoff(per_minute=10)
    for n in range(10):
        assert backoff.retry_after("10.0.0.9", now=100.0 + n) == 0
        backoff.failed("10.0.0.9", now=100.0 + n)
    assert backoff.retry_after("10.0.0.9", now=110.0) == 50
    assert backoff.retry_after("10.0.0.8", now=110.0) == 0  # others are not held off
    assert backoff.retry_after("10.0.0.9", now=160.0) == 0  # the first failure aged out
    warnings = [r for r in caplog.records if "10.0.0.9" in r.getMessage()]
    assert len(warnings) == 1


def test_a_steady_guesser_gets_one_warning_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    backoff = KeyBackoff(per_minute=10)
    for second in range(0, 180):
        if not backoff.retry_after("10.0.0.9", now=float(second)):
            backoff.failed("10.0.0.9", now=float(second))
    warnings = [r for r in caplog.records if "10.0.0.9" in r.getMessage()]
    assert 2 <= len(warnings) <= 3


def test_rate_limited_lines_say_how_many_were_left_out(caplog: pytest.LogCaptureFixture) -> None:
    clock = [0.0]
    log = RateLimitedLog(logging.getLogger("test.quiet"), per_minute=3, clock=lambda: clock[0])
    with caplog.at_level(logging.WARNING, logger="test.quiet"):
        for _ in range(50):
            log.warning("refused a connection from %s", "10.0.0.9")
        clock[0] = 61.0
        log.warning("refused a connection from %s", "10.0.0.9")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4
    assert lines[-1].endswith("(47 similar lines left out)")


def test_a_client_error_loses_its_traceback_and_keeps_one_line() -> None:
    quiet = QuietClientErrors(per_minute=5, clock=lambda: 0.0)
    try:
        raise LineTooLong("X-Big: aaaa\nmore", "8190")
    except LineTooLong as exc:
        error = exc
    records = [
        logging.LogRecord(
            "aiohttp.server",
            logging.ERROR,
            __file__,
            1,
            "Error handling request from %s",
            ("10.0.0.9",),
            (type(error), error, error.__traceback__),
        )
        for _ in range(20)
    ]
    passed = [r for r in records if quiet.filter(r)]
    assert len(passed) == 5
    assert passed[0].exc_info is None
    assert "\n" not in passed[0].getMessage()
    assert passed[0].getMessage().startswith("Error handling request from 10.0.0.9: LineTooLong")
