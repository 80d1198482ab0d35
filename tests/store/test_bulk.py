"""A batch that holds one docket (or posting) twice stores one of them: the last,
unless only an earlier one read its page, whose facts a later grid-only sighting
must not throw away."""

from types import SimpleNamespace

from ctforeclosure.store.bulk import one_per_key


def _item(key, fetched, name):
    return SimpleNamespace(docket_no=key, detail_fetched=fetched, name=name)


def test_the_last_sighting_wins_unless_only_an_earlier_one_read_the_page():
    read = _item("A", True, "read")
    grid_only = _item("A", False, "grid only")
    read_again = _item("A", True, "read again")
    other = _item("B", False, "other")
    kept = one_per_key([read, grid_only, other], "docket_no", "detail_fetched")
    assert [i.name for i in kept] == ["read", "other"]
    kept = one_per_key([read, grid_only, read_again], "docket_no", "detail_fetched")
    assert [i.name for i in kept] == ["read again"]
    kept = one_per_key([grid_only, read], "docket_no", "detail_fetched")
    assert [i.name for i in kept] == ["read"]
