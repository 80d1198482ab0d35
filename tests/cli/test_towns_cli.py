"""``ctforeclosure towns``: listing and checking names, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ctforeclosure.cli.app import main

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
