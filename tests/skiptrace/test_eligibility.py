"""The eligibility rule on party names seen in the real captures.

Only institution names are listed here (banks, government bodies, associations,
"For Notice Only" parties, trusts, businesses): they are not personal data. The
people are invented.
"""

from __future__ import annotations

import pytest

from ctforeclosure.skiptrace.eligibility import decide, property_address

CASE = {
    "property_street": "10 Example Road",
    "property_town": "Middletown",
    "property_state": "CT",
    "property_zip": "06457",
    "search_town": "Middletown",
}

#: Party and case names from the civilinquiry captures (docs/SITES.md §0):
#: institutions only.
INSTITUTIONS = {
    "BANK OF AMERICA, N.A.": "bank, lender or servicer",
    "WELLS FARGO BANK, N.A., SUCCESSOR BY MERGER TO WELLS FARGO HOME MORTGAGE": (
        "bank, lender or servicer"
    ),
    "CITIMORTGAGE, INC.": "bank, lender or servicer",
    "LAKEVIEW LOAN SERVICING, LLC": "bank, lender or servicer",
    "NEWREZ LLC D/B/A SHELLPOINT MORTGAGE SERVICING": "bank, lender or servicer",
    "DEUTSCHE BANK NATIONAL TRUST COMPANY, AS TRUSTEE": "bank, lender or servicer",
    "FEDERAL HOME LOAN MORTGAGE CORPORATION, AS TRUSTEE": "bank, lender or servicer",
    "NUTMEG STATE FINANCIAL CREDIT UNION": "bank, lender or servicer",
    "WILMINGTON SAVINGS FUND SOCIETY, FSB": "bank, lender or servicer",
    "MIDFIRST BANK": "bank, lender or servicer",
    "M&T BANK": "bank, lender or servicer",
    "SACHEM CAPITAL CORP.": "bank, lender or servicer",
    "METROPOLITAN LIFE INSURANCE COMPANY": "bank, lender or servicer",
    "CITY OF HARTFORD": "government body or court",
    "CITY OF MIDDLETOWN": "government body or court",
    "SOUTH FIRE DISTRICT": "government body or court",
    "CONNECTICUT HOUSING FINANCE AUTHORITY": "government body or court",
    "SECRETARY OF HOUSING AND URBAN DEVELOPMENT": "government body or court",
    "APPELLATE COURT DOCKET #49453": "government body or court",
    "BERKELEY CONDOMINIUM ASSOCIATION, INC.": "condominium or homeowners association",
    "BEACON HILL ASSOCIATION, INC.": "condominium or homeowners association",
    "FOREST GLEN CONDOMINIUMS OF MIDDLETOWN ASSOCIATION": (
        "condominium or homeowners association"
    ),
    "BP-JR 1 LOAN TRUST": "bank, lender or servicer",
    "CSMC 2021-JR1 TRUST": "trust or trustee institution",
    "RYSBMF TRUST, TRUSTEE A/K/A ACTING BY AND THROUGH": "trust or trustee institution",
    "834 PARTNERS, CT LLC": "organisation or estate, not a person",
    "PAXE HARTFORD PORTFOLIO LP": "organisation or estate, not a person",
    "BETHEL APOSTOLIC CHURCH, INCORPORATED": "organisation or estate, not a person",
    "TRINITY HEALTH OF NEW ENGLAND CORPORATION, INC.": (
        "organisation or estate, not a person"
    ),
    "ESTATE OF BOOKER EXAMPLE SR.": "organisation or estate, not a person",
    "IGLESIA FUENTE DE SALVACION MISIONERA, INC.": (
        "organisation or estate, not a person"
    ),
    "THE HEIRS REPRESENTATIVES CREDITORS OR BENEFICIARIES OF THE ESTATE": (
        "placeholder for unknown people, not a named person"
    ),
    "UNKNOWN HEIRS OF THE ESTATE": "placeholder for unknown people, not a named person",
    "JOHN DOE": "placeholder for unknown people, not a named person",
}


@pytest.mark.parametrize("name", sorted(INSTITUTIONS))
def test_decide_skips_institution_defendants(name):
    decision = decide({"name": name, "role": "D", "category": "Defendant"}, CASE)
    assert decision.action == "skip"
    assert decision.reason == INSTITUTIONS[name]


def test_decide_skips_for_notice_only_parties():
    party = {
        "name": "AVERY Q. EXAMPLE",
        "role": "L",
        "category": "For Notice Only or Proposed Intervenor",
    }
    assert decide(party, CASE).reason == "for notice only"


def test_decide_skips_the_plaintiffs_side():
    party = {"name": "AVERY EXAMPLE", "role": "P", "category": "Plaintiff "}
    assert decide(party, CASE).action == "skip"
    defendant = {"name": "BLAKE TESTWORTH", "role": "D", "category": "Defendant"}
    decision = decide(defendant, CASE, plaintiffs=["BLAKE  TESTWORTH"])
    assert decision.reason == "also a plaintiff (plaintiff's side)"


def test_decide_skips_parties_removed_from_the_case():
    party = {"name": "AVERY EXAMPLE", "role": "D", "removed_at": "2026-01-01"}
    assert decide(party, CASE).reason == "no longer on the case page"


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("AVERY Q. EXAMPLE", "AVERY", "EXAMPLE"),
        ("EXAMPLE, AVERY Q", "AVERY", "EXAMPLE"),
        (
            "DR. CORA SAMPLESON EXECUTOR OF THE ESTATE OF DEVON SAMPLESON",
            "CORA",
            "SAMPLESON",
        ),
        (
            "SAMPLESON, CORA, TRUSTEE OF THE SAMPLESON REVOCABLE TRUST",
            "CORA",
            "SAMPLESON",
        ),
        ("FICTIONAL, JR, DEVON, AKA DEVON FICTIONAL JR", "DEVON", "FICTIONAL"),
        ("GALE INVENTA MD", "GALE", "INVENTA"),
    ],
)
def test_decide_traces_people_by_their_own_name(name, first, last):
    decision = decide({"name": name, "role": "D", "category": "Defendant "}, CASE)
    assert decision.action == "trace", decision.reason
    assert (decision.person.first, decision.person.last) == (first, last)
    assert decision.address.street == "10 Example Road"


@pytest.mark.parametrize(
    "address",
    [
        {"property_street": "See Clerk's Note"},
        {"property_street": "SEE CLERK'S NOTE", "listing_street": "SEE CLERK'S NOTE"},
        {"property_street": "EXAMPLE ROAD"},  # no house number
        {"property_street": "", "listing_street": ""},
        {"property_zip": "00000", "property_town": "", "search_town": ""},
    ],
)
def test_decide_sends_unusable_addresses_to_review(address):
    case = {**CASE, **address}
    decision = decide({"name": "AVERY EXAMPLE", "role": "D"}, case)
    assert decision.action == "review"
    assert decision.address is None


def test_property_address_drops_placeholder_zips_but_keeps_the_town():
    address = property_address({**CASE, "property_zip": "00000"})
    assert address.zip is None and address.city == "Middletown"
    assert address.as_request() == {
        "street": "10 Example Road",
        "city": "Middletown",
        "state": "CT",
    }
    assert property_address({**CASE, "property_zip": "06"}).zip is None


def test_property_address_falls_back_to_the_search_grid():
    case = {
        "listing_street": "22 Sample Street",
        "listing_zip": "06457",
        "search_town": "Middletown",
    }
    address = property_address(case)
    assert (address.street, address.zip, address.city) == (
        "22 Sample Street",
        "06457",
        "Middletown",
    )


def test_property_address_keeps_the_first_line_of_a_grid_street():
    case = {"listing_street": "1 Sample St.\nUnit 5", "listing_zip": "06457"}
    assert property_address(case).street == "1 Sample St."
