"""Dedupe keys, E.164 phones and masks."""

from __future__ import annotations

import pytest

from ctforeclosure.skiptrace.normalize import (
    Address,
    PersonName,
    e164,
    mask_email,
    mask_phone,
    person_key,
    split_name,
)


def test_person_key_ignores_case_spacing_and_punctuation():
    a = person_key(
        PersonName("AVERY", "EXAMPLE"),
        Address("10 Example Rd.", "Hartford", "CT", "06101"),
    )
    b = person_key(
        PersonName("avery", "example"),
        Address("10  EXAMPLE RD", "HARTFORD", "CT", "06101"),
    )
    assert a == b


def test_person_key_differs_by_address_and_by_person():
    home = Address("10 Example Rd", "Hartford", "CT", "06101")
    other = Address("12 Example Rd", "Hartford", "CT", "06101")
    person = PersonName("AVERY", "EXAMPLE")
    assert person_key(person, home) != person_key(person, other)
    assert person_key(person, home) != person_key(PersonName("BLAKE", "EXAMPLE"), home)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8605550123", "+18605550123"),
        ("(860) 555-0123", "+18605550123"),
        ("18605550123", "+18605550123"),
        ("123123", None),  # the official mock's placeholder
        ("111111111", None),
        ("0605550123", None),
    ],
)
def test_e164(raw, expected):
    assert e164(raw) == expected


def test_masks_hide_all_but_a_little():
    assert mask_phone("+18605550123") == "*********23"
    assert mask_email("avery.example@example.net") == "***@example.net"
    assert "avery" not in mask_email("avery.example@example.net")


def test_split_name_refuses_what_is_not_a_first_and_last_name():
    assert split_name("MADONNA") is None
    assert split_name("AVERY & BLAKE EXAMPLE") is None


def test_settings_from_config_reads_and_checks_values(monkeypatch):
    from decimal import Decimal

    from ctforeclosure import config
    from ctforeclosure.skiptrace.settings import SkipTraceSettings

    monkeypatch.setenv("SKIPTRACE_UNIT_COST", "0.11")
    monkeypatch.setenv("SKIPTRACE_BATCH_SIZE", "500")  # the API takes 100 at most
    settings = SkipTraceSettings.from_config(config.load())
    assert settings.unit_cost == Decimal("0.11")
    assert settings.batch_size == 100
    assert settings.dedupe_days == 180 and settings.retention_days == 365
    monkeypatch.setenv("SKIPTRACE_MONTHLY_BUDGET", "lots")
    with pytest.raises(ValueError, match="SKIPTRACE_MONTHLY_BUDGET='lots'"):
        SkipTraceSettings.from_config(config.load())
    monkeypatch.setenv("SKIPTRACE_MONTHLY_BUDGET", "-5")
    with pytest.raises(ValueError, match="must not be negative"):
        SkipTraceSettings.from_config(config.load())
