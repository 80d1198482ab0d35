"""The case timeline reads each recorded change as a sentence, from a table keyed by
the change's kind; a kind without an entry still reads as words."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from webui import timeline


@pytest.mark.parametrize(
    ("kind", "old", "new", "sentence"),
    [
        ("law_day", None, "2026-03-01", "law day set to 2026-03-01"),
        (
            "sale_date",
            "2026-08-15",
            "2026-09-12",
            "sale date moved from 2026-08-15 to 2026-09-12",
        ),
        ("law_day", "2026-03-01", None, "law day removed (was 2026-03-01)"),
        (
            "disposition",
            None,
            "Judgment of foreclosure by sale",
            "disposition: Judgment of foreclosure by sale",
        ),
        (
            "party_added",
            None,
            {"party_no": "D-02", "role": "D", "name": "ROE, JANE"},
            "party added: D-02 D ROE, JANE",
        ),
        ("no_longer_listed", True, False, "no longer listed on the court's site"),
        (  # the sales' own sentence, in Connecticut time (stored in UTC)
            "sale_moved",
            {"sale_at": "2026-08-15T16:00:00+00:00"},
            {"sale_at": "2026-09-12T16:00:00+00:00"},
            "Sale moved from 08/15/2026 12:00 PM to 09/12/2026 12:00 PM",
        ),
        ("judgment", None, "strict", "judgment of strict foreclosure entered"),
        (
            "judgment",
            "strict",
            "sale",
            "judgment of foreclosure by sale entered (was strict foreclosure)",
        ),
        (  # how many phones, for which party: never the numbers
            "phones_found",
            None,
            {"party_no": "D-01", "phones": 2},
            "skip trace found 2 phones for party D-01",
        ),
        (
            "phones_found",
            None,
            {"party_no": "D-02", "phones": 1},
            "skip trace found 1 phone for party D-02",
        ),
        (  # a kind with no sentence of its own still reads as words
            "appraisal_filed",
            "2026-08-15",
            "2026-09-12",
            "appraisal filed: 2026-08-15 → 2026-09-12",
        ),
    ],
)
def test_changes_read_as_sentences(kind, old, new, sentence):
    assert timeline.sentence(kind, old, new) == sentence


def test_the_timeline_merges_entries_changes_and_notes_newest_first():
    entry = SimpleNamespace(
        file_date=date(2026, 1, 5),
        first_seen=None,
        entry_no="101.00",
        description="COMPLAINT",
        result=None,
        removed_at=None,
    )
    change = SimpleNamespace(
        seen_at=datetime(2026, 2, 1, tzinfo=UTC),
        kind="law_day",
        old_value=None,
        new_value="2026-03-01",
        field="law_day",
    )
    note = SimpleNamespace(
        created_at=datetime(2026, 2, 2, tzinfo=UTC),
        body="Called",
        author="m@example.org",
    )
    items = timeline.build([entry], [change], [note])
    assert [i.text for i in items] == [
        "Called",
        "law day set to 2026-03-01",
        "#101.00 COMPLAINT",
    ]


def test_every_recorded_kind_has_a_sentence_of_its_own():
    """The change feed and the timeline read every kind the stores record."""
    from ctforeclosure.store.changes import KINDS

    assert [kind for kind in KINDS if kind not in timeline.SENTENCES] == []
    # and every kind with a sentence is one the feed's `kinds` filter accepts
    assert [kind for kind in timeline.SENTENCES if kind not in KINDS] == []
