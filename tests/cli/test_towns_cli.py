"""``ctforeclosure towns``: listing and checking names, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ctforeclosure import db
from ctforeclosure.cli import towns as town_cli
from ctforeclosure.cli.app import main
from webui import timeline

CTFORECLOSURE = Path(sys.executable).parent / "ctforeclosure"


def _run(*args: str) -> subprocess.CompletedProcess:
    """Run the installed command, as the issue's done-when checks do."""
    return subprocess.run(
        [str(CTFORECLOSURE), *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("E. HARTFORD", "East Hartford, Hartford County"),
        ("Winsted", "Winchester, Litchfield County"),
    ],
)
def test_towns_check_prints_the_town_and_its_county(name, expected):
    result = _run("towns", "check", name)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected + "\n"


def test_towns_check_springfield_exits_2_naming_its_closest_towns():
    result = _run("towns", "check", "Springfield")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'Springfield' is not a Connecticut town" in result.stderr
    assert "Enfield, Plainfield, Ridgefield" in result.stderr


def test_towns_check_mystic_names_both_towns():
    result = CliRunner().invoke(main, ["towns", "check", "Mystic"])
    assert result.exit_code == 2
    assert "Groton" in result.output
    assert "Stonington" in result.output


def test_towns_lists_all_169_towns_with_their_county():
    result = CliRunner().invoke(main, ["towns"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 169
    assert lines[0].split() == ["Andover", "Tolland"]
    assert "East Hartford" in result.output


def test_towns_county_lists_only_that_county():
    result = CliRunner().invoke(main, ["towns", "--county", "tolland county"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 13
    assert all(line.endswith("  Tolland") for line in lines)
    assert any(line.startswith("Vernon ") for line in lines)


def test_towns_unknown_county_exits_2_listing_the_counties():
    result = CliRunner().invoke(main, ["towns", "--county", "Suffolk"])
    assert result.exit_code == 2
    assert "'Suffolk' is not a Connecticut county" in result.output
    assert "New London" in result.output


#: Stored towns as an older reference list left them: (docket, search town,
#: county, property town, flags).
STALE_CASES = [
    ("HHDCV226000001S", "E. HARTFORD", "Hartford", "E. HARTFORD", []),
    ("TTDCV226000002S", "Vernon", "Hartford", "Rockville", ["town_mismatch"]),
    ("DBDCV226000003S", "Bethel", "Fairfield", "Springfield", []),
    ("MMXCV226000004S", "Middletown", "Middlesex", "Middletown", []),
]


def _store_stale_cases(url: str) -> None:
    now = datetime.now(UTC)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        for docket, town, county, prop, flags in STALE_CASES:
            conn.execute(
                db.cases.insert().values(
                    docket_no=docket,
                    search_town=town,
                    county=county,
                    listing_town=prop.upper(),
                    property_town=prop,
                    flags=flags,
                    listed=True,
                    first_seen=now,
                    last_seen=now,
                    last_changed=now,
                )
            )
    engine.dispose()


def test_towns_revalidate_reports_then_fixes_with_recorded_changes(
    migrated_db_url, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    _store_stale_cases(migrated_db_url)
    report = CliRunner().invoke(main, ["towns", "revalidate"])
    assert report.exit_code == town_cli.EXIT_MISMATCHES, report.output
    assert report.output.splitlines() == [
        "DBDCV226000003S  property_town: Springfield -> unknown to the towns list "
        "(not fixable)",
        "HHDCV226000001S  search_town: E. HARTFORD -> East Hartford",
        "HHDCV226000001S  property_town: E. HARTFORD -> East Hartford",
        "TTDCV226000002S  county: Hartford -> Tolland",
        "TTDCV226000002S  property_town: Rockville -> Vernon",
        "TTDCV226000002S  town_mismatch: True -> False",
        "6 mismatch(es); run with --fix to correct them",
    ]

    fixed = CliRunner().invoke(main, ["towns", "revalidate", "--fix"])
    assert "6 mismatch(es); corrected 2 case(s)" in fixed.output
    assert fixed.exit_code == town_cli.EXIT_MISMATCHES  # Springfield remains
    again = CliRunner().invoke(main, ["towns", "revalidate"])
    assert (
        again.output.splitlines()[-1]
        == "1 mismatch(es); run with --fix to correct them"
    )

    engine = db.make_engine(migrated_db_url)
    with engine.connect() as conn:
        vernon = conn.execute(
            sa.select(db.cases).where(db.cases.c.docket_no == "TTDCV226000002S")
        ).one()
        changes = conn.execute(
            sa.select(db.case_changes).order_by(db.case_changes.c.id)
        ).all()
    engine.dispose()
    assert (vernon.county, vernon.property_town, vernon.flags) == (
        "Tolland",
        "Vernon",
        [],
    )
    assert [
        timeline.sentence(c.kind, c.old_value, c.new_value, c.field) for c in changes
    ] == [
        "town corrected from E. HARTFORD to East Hartford (towns re-checked)",
        "property town corrected from E. HARTFORD to East Hartford (towns re-checked)",
        "county corrected from Hartford to Tolland (towns re-checked)",
        "property town corrected from Rockville to Vernon (towns re-checked)",
        "town mismatch flag cleared (towns re-checked)",
    ]
