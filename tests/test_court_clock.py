"""Connecticut's "today" is the court's, not the server's UTC date."""

from datetime import date

from freezegun import freeze_time

from ctforeclosure.parsers.court_clock import court_today


def test_a_utc_server_after_new_york_midnight_keeps_connecticuts_date():
    with freeze_time("2026-12-04 03:30:00", tz_offset=0):  # 22:30 in Hartford
        assert court_today() == date(2026, 12, 3)
    with freeze_time("2026-07-04 04:30:00", tz_offset=0):  # 00:30 EDT
        assert court_today() == date(2026, 7, 4)
