"""``notify`` delivers each matching change once: the matcher makes one outbox row
per subscription, change and channel (a rerun adds none); the sender delivers
through a real SMTP server and a real webhook receiver on 127.0.0.1, retries
through outages, and sends digests at the subscriber's hour, America/New_York."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from ctforeclosure.db import (
    aware,
    case_changes,
    cases,
    notification_outbox,
    notifications,
    sales,
)
from ctforeclosure.services import notify
from tests.services.notify_parts import (
    NOW,
    SUBSCRIBED_AT,
    Mailbox,
    Receiver,
    change,
    free_port,
    new_cases,
    outbox,
    search,
    serve,
    settings,
    staff,
    subscribe,
)
from webui.saved_queries import matching_dockets

#: The SMTP server's event loop runs in its own thread on the real clock.
AIOSMTPD_THREADS = ["asyncio", "aiosmtpd", "selectors", "threading"]


def _run(engine, parts, now=NOW):
    return notify.run(engine, matching_dockets, parts, now)


@pytest.fixture
def mailbox():
    box = Mailbox(free_port())
    yield box
    box.stop()


def test_a_subscription_hears_only_of_changes_seen_after_it_was_made(
    migrated_engine,
):
    """No flood of history: a new subscriber gets what happens from then on."""
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        subscribe(conn, ann, bethel, ["new_case"], email_mode="immediate")
        new_cases(conn, "Bethel", 2, now=SUBSCRIBED_AT - timedelta(minutes=5))
        later = new_cases(conn, "Bethel", 1, start=20)
    _run(migrated_engine, settings())
    with migrated_engine.connect() as conn:
        assert [row.docket_no for row in outbox(conn)] == later


def test_only_matching_changes_are_queued_once(migrated_engine):
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        subscribe(conn, ann, bethel, ["new_case"], email_mode="immediate")
        mine = new_cases(conn, "Bethel", 2)
        new_cases(conn, "Hartford", 3, start=10)
        change(conn, mine[0], "law_day", None, "2027-01-12")  # not an event of it
    first = _run(migrated_engine, settings())
    again = _run(migrated_engine, settings())
    with migrated_engine.connect() as conn:
        rows = outbox(conn)
        bell = conn.execute(sa.select(sa.func.count()).select_from(notifications))
        assert bell.scalar_one() == 2
    assert sorted((r.docket_no, r.kind) for r in rows) == [
        (mine[0], "new_case"),
        (mine[1], "new_case"),
    ]
    assert (first.matched.outbox, again.matched.outbox) == (2, 0)
    assert again.matched.changes == 0  # the cursor moved past them
    # no SMTP server configured: waiting to be retried, not lost
    assert {r.status for r in rows} == {"pending"}
    assert "no SMTP server configured" in rows[0].last_error


def test_a_derived_sale_date_moving_is_no_news_when_a_notice_exists(migrated_engine):
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        subscribe(conn, ann, bethel, ["sale_moved"])
        noticed, bare = new_cases(conn, "Bethel", 2)
        conn.execute(
            sales.insert().values(
                posting_id=1,
                docket_no=noticed,
                town="Bethel",
                status="scheduled",
                first_seen=NOW,
                last_seen=NOW,
                last_changed=NOW,
            )
        )
        change(conn, noticed, "sale_date", "2027-02-01", "2027-03-01")
        change(conn, bare, "sale_date", "2027-02-01", "2027-03-01")
        moved = {"sale_at": "2027-03-01T12:00:00-05:00"}
        change(conn, noticed, "sale_moved", {"sale_at": "2027-02-01"}, moved)
    summary = _run(migrated_engine, settings())
    with migrated_engine.connect() as conn:
        got = sorted(
            conn.execute(
                sa.text(
                    "SELECT c.docket_no, c.kind FROM notifications n"
                    " JOIN case_changes c ON c.id = n.change_id"
                )
            ).all()
        )
    assert summary.matched.notifications == 2
    assert [tuple(r) for r in got] == sorted(
        [(bare, "sale_date"), (noticed, "sale_moved")]
    )


def test_emails_wait_out_an_smtp_outage_then_all_arrive_once(migrated_engine, mailbox):
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        subscribe(conn, ann, bethel, ["new_case"], email_mode="immediate")
        dockets = new_cases(conn, "Bethel", 3)
    parts = settings(mailbox.port)  # nothing listens there yet
    down = _run(migrated_engine, parts)
    assert (down.sent.sent, down.sent.retrying) == (0, 1)  # one try, the rest wait
    assert down.sent.waiting == 2
    mailbox.start()
    early = _run(migrated_engine, parts, NOW + timedelta(seconds=30))
    assert early.sent.sent == 2  # the untried ones; the failed one waits its minute
    late = _run(migrated_engine, parts, NOW + timedelta(minutes=2))
    assert late.sent.sent == 1
    _run(migrated_engine, parts, NOW + timedelta(hours=2))
    subjects = sorted(str(m["Subject"]) for m in mailbox.messages)
    assert len(subjects) == 3 and all("New case" in s for s in subjects)
    ids = {str(m["X-CTF-Delivery"]) for m in mailbox.messages}
    assert len(ids) == 3
    assert all(
        m["Message-ID"] == f"<{m['X-CTF-Delivery']}@notify.ctforeclosure>"
        for m in mailbox.messages
    )
    bodies = "".join(m.get_payload() for m in mailbox.messages)
    assert all(d[:3] in bodies for d in dockets)
    with migrated_engine.connect() as conn:
        assert {r.status for r in outbox(conn)} == {"sent"}


def test_a_webhook_answering_500_three_times_gets_it_on_the_fourth(migrated_engine):
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        receiver = Receiver(failures=3)
        made = subscribe(conn, ann, bethel, ["new_case"], webhook_url=receiver.url)
        receiver.secret = made.webhook_secret
        [docket] = new_cases(conn, "Bethel", 1)
    serve(receiver)
    try:
        when = NOW
        for minutes in (0, 1, 5, 25, 125):  # each run after the last wait
            when += timedelta(minutes=minutes, seconds=1)
            _run(migrated_engine, settings(), when)
    finally:
        receiver.shutdown()
    assert [p["status"] for p in receiver.posts] == [500, 500, 500, 200]
    assert all(p["signed"] for p in receiver.posts)
    assert len({p["delivery"] for p in receiver.posts}) == 1  # the same id each time
    body = receiver.delivered()[0]["body"]
    assert (body["docket_no"], body["event"], body["town"]) == (
        docket,
        "new_case",
        "Bethel",
    )
    assert "caption" not in body  # not asked for
    with migrated_engine.connect() as conn:
        [row] = outbox(conn)
    assert (row.status, row.attempts) == ("sent", 4)


def test_a_receiver_asking_to_wait_is_not_retried_sooner(migrated_engine):
    """A 503 with Retry-After: 3600 waits the hour, not the backoff's first minute."""
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        receiver = Receiver(failures=1, failure=(503, "3600"))
        made = subscribe(conn, ann, bethel, ["new_case"], webhook_url=receiver.url)
        receiver.secret = made.webhook_secret
        new_cases(conn, "Bethel", 1)
    serve(receiver)
    try:
        first = NOW + timedelta(seconds=1)
        _run(migrated_engine, settings(), first)
        _run(migrated_engine, settings(), first + timedelta(minutes=2))
        assert [p["status"] for p in receiver.posts] == [503]
        with migrated_engine.connect() as conn:
            [row] = outbox(conn)
            due = conn.execute(
                sa.select(notification_outbox.c.next_attempt_at)
            ).scalar_one()
        assert (row.status, row.attempts) == ("pending", 1)
        assert aware(due) == first + timedelta(hours=1)
        _run(migrated_engine, settings(), first + timedelta(hours=1, seconds=1))
    finally:
        receiver.shutdown()
    assert [p["status"] for p in receiver.posts] == [503, 200]


def test_a_webhook_that_never_recovers_is_given_up_with_a_reason(migrated_engine):
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        receiver = Receiver(failures=100)
        subscribe(conn, ann, bethel, ["new_case"], webhook_url=receiver.url)
        new_cases(conn, "Bethel", 1)
    serve(receiver)
    try:
        for day in range(3):
            for hour in range(0, 24, 1):
                at = NOW + timedelta(days=day, hours=hour, seconds=1)
                _run(migrated_engine, settings(), at)
    finally:
        receiver.shutdown()
    with migrated_engine.connect() as conn:
        [row] = outbox(conn)
    assert row.status == "failed"
    assert row.attempts == notify.schedule.MAX_ATTEMPTS
    assert row.last_error == "http://127.0.0.1 answered HTTP 500"
    assert len(receiver.posts) == notify.schedule.MAX_ATTEMPTS


def test_a_moved_derived_sale_date_reads_as_a_sale_moved(migrated_engine, mailbox):
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        subscribe(conn, ann, bethel, ["sale_moved"], email_mode="immediate")
        [docket] = new_cases(conn, "Bethel", 1)
        change(conn, docket, "sale_date", "2027-02-01", "2027-03-01")
    mailbox.start()
    _run(migrated_engine, settings(mailbox.port))
    [message] = mailbox.messages
    assert "Sale moved" in message["Subject"]
    assert "sale 2027-02-01 → 2027-03-01" in message.get_payload(decode=True).decode()


def test_a_digest_waits_for_its_new_york_hour(migrated_engine, mailbox):
    mailbox.start()
    parts = settings(mailbox.port)
    # 06:30 in New York on a summer day (EDT, UTC-4): 7 o'clock is 11:00 UTC
    with freeze_time("2026-06-15 10:30:00", ignore=AIOSMTPD_THREADS) as clock:
        with migrated_engine.begin() as conn:
            ann = staff(conn)
            bethel = search(conn, ann, {"town": "Bethel"})
            subscribe(
                conn, ann, bethel, ["new_case"], email_mode="digest", digest_hour=7
            )
            first = new_cases(conn, "Bethel", 2, now=datetime.now(UTC))
        notify.run(migrated_engine, matching_dockets, parts)
        clock.move_to("2026-06-15 10:59:59")
        notify.run(migrated_engine, matching_dockets, parts)
        assert mailbox.messages == []  # not yet seven in New York
        clock.move_to("2026-06-15 11:00:05")
        with migrated_engine.begin() as conn:  # after the hour: tomorrow's digest
            later = new_cases(conn, "Bethel", 1, start=20, now=datetime.now(UTC))
        notify.run(migrated_engine, matching_dockets, parts)
        assert len(mailbox.messages) == 1
        clock.move_to("2026-06-16 11:00:00")
        notify.run(migrated_engine, matching_dockets, parts)
    today, tomorrow = mailbox.messages
    assert today["Subject"] == "[ctforeclosure] 2 updates: Bethel"
    body = today.get_payload(decode=True).decode()
    assert all(d[-7:-1] in body for d in first) and later[0][-7:-1] not in body
    assert tomorrow["Subject"] == "[ctforeclosure] 1 update: Bethel"
    assert today["X-CTF-Delivery"] != tomorrow["X-CTF-Delivery"]


def test_many_searches_of_one_structure_each_match_their_own(migrated_engine):
    queries = {
        "ann@example.org": {"town": "Bethel"},
        "bob@example.org": {"town": "Hartford"},
        "cy@example.org": {"town": "Bethel", "status": "disposed"},  # none active
        "di@example.org": {"status": "active"},  # no bound values at all
        "ed@example.org": {"q": "DOE"},  # the defendant of every case
        "fay@example.org": {"q": "ROE"},
    }
    with migrated_engine.begin() as conn:
        for email, query in queries.items():
            person = staff(conn, email)
            mine = search(conn, person, query, name=email)
            subscribe(conn, person, mine, ["new_case"])
        bethel = new_cases(conn, "Bethel", 2)
        hartford = new_cases(conn, "Hartford", 1, start=10)
    _run(migrated_engine, settings())
    with migrated_engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT u.email, c.docket_no FROM notifications n"
                " JOIN users u ON u.id = n.user_id"
                " JOIN case_changes c ON c.id = n.change_id"
            )
        ).all()
    got = {email: sorted(d for e, d in rows if e == email) for email in queries}
    everything = sorted(bethel + hartford)
    assert got == {
        "ann@example.org": bethel,
        "bob@example.org": hartford,
        "cy@example.org": [],
        "di@example.org": everything,
        "ed@example.org": everything,
        "fay@example.org": [],
    }


def test_changes_read_again_add_no_second_delivery(migrated_engine):
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        subscribe(conn, ann, bethel, ["new_case"], email_mode="immediate")
        new_cases(conn, "Bethel", 3)
    _run(migrated_engine, settings())
    with migrated_engine.begin() as conn:  # as if two runs had read the same page
        conn.execute(sa.text("DELETE FROM notify_state"))
    again = _run(migrated_engine, settings())
    with migrated_engine.connect() as conn:
        rows = outbox(conn)
    assert again.matched.changes == 3
    assert (again.matched.outbox, again.matched.notifications) == (0, 0)
    assert len(rows) == 3


def test_changes_that_are_no_event_are_read_once_too(migrated_engine):
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        subscribe(conn, ann, bethel, ["new_case"])
        [docket] = new_cases(conn, "Bethel", 1)
    _run(migrated_engine, settings())
    with migrated_engine.begin() as conn:
        change(conn, docket, "docket_entry_added", None, {"entry_no": "101.00"})
    first = _run(migrated_engine, settings())
    again = _run(migrated_engine, settings())
    assert (first.matched.changes, first.matched.outbox) == (1, 0)
    assert again.matched.changes == 0  # the cursor moved past it


def test_a_page_that_failed_is_matched_whole_by_the_next_run(migrated_engine):
    """A page whose statement fails in the database moves no cursor, reports its
    own error (PostgreSQL refuses every statement after it, a clean-up too), and
    leaves nothing in the way: the next run delivers that page, once (SQLite's
    driver made the page's working tables outside the transaction)."""
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        subscribe(conn, ann, bethel, ["new_case"], email_mode="immediate")
        mine = new_cases(conn, "Bethel", 2)

    def broken(*_args):
        return sa.select(cases.c.docket_no).where(sa.text("no_such_column = 1")), {}

    with pytest.raises(sa.exc.DBAPIError, match="no_such_column"):
        notify.run(migrated_engine, broken, settings(), NOW)
    again = _run(migrated_engine, settings())
    with migrated_engine.connect() as conn:
        assert sorted(row.docket_no for row in outbox(conn)) == mine
    assert (again.matched.changes, again.matched.outbox) == (2, 2)


def _digest_of(migrated_engine, count: int) -> list[str]:
    """Subscribe to a 7 o'clock digest and store ``count`` new Bethel cases; at
    the frozen 06:30 New York of the caller."""
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        subscribe(conn, ann, bethel, ["new_case"], email_mode="digest", digest_hour=7)
        return new_cases(conn, "Bethel", count, now=datetime.now(UTC))


def _delivery_ids(engine) -> list[str]:
    with engine.connect() as conn:
        return (
            conn.execute(sa.select(notification_outbox.c.delivery_id)).scalars().all()
        )


def test_a_digest_of_1200_changes_is_one_email_at_its_hour(migrated_engine, mailbox):
    """The sender reads 500 due rows at a time; a digest is still one email,
    telling the first changes one by one and counting the rest."""
    mailbox.start()
    parts = settings(mailbox.port)
    with freeze_time("2026-06-15 10:30:00", ignore=AIOSMTPD_THREADS) as clock:
        dockets = _digest_of(migrated_engine, 1200)
        notify.run(migrated_engine, matching_dockets, parts)
        assert mailbox.messages == []
        clock.move_to("2026-06-15 11:00:05")  # 07:00:05 in New York
        summary = notify.run(migrated_engine, matching_dockets, parts)
        again = notify.run(migrated_engine, matching_dockets, parts)
    [digest] = mailbox.messages
    assert (summary.sent.emails, summary.sent.sent) == (1, 1200)
    assert again.sent.sent == 0
    assert digest["Subject"] == "[ctforeclosure] 1,200 updates: Bethel"
    body = digest.get_payload(decode=True).decode()
    lines = {line.strip() for line in body.splitlines()}
    told = [d for d in dockets if f"https://ctf.example.org/cases/{d}" in lines]
    assert told == dockets[: notify.messages.DIGEST_LINES]  # the oldest, in order
    assert (
        "...and 1,000 more, all on your notifications page: "
        "https://ctf.example.org/notifications/" in body
    )
    assert digest["X-CTF-Delivery"] == notify.messages.digest_id(
        _delivery_ids(migrated_engine)
    )  # the digest of all 1,200
    with migrated_engine.connect() as conn:
        rows = outbox(conn)
    assert len(rows) == 1200 and {(r.status, r.attempts) for r in rows} == {("sent", 1)}


def test_a_big_digest_waits_out_an_smtp_outage_as_one_email(migrated_engine, mailbox):
    parts = settings(mailbox.port)  # nothing listens there yet
    with freeze_time("2026-06-15 10:30:00", ignore=AIOSMTPD_THREADS) as clock:
        _digest_of(migrated_engine, 1200)
        notify.run(migrated_engine, matching_dockets, parts)
        clock.move_to("2026-06-15 11:00:05")
        down = notify.run(migrated_engine, matching_dockets, parts)
        assert (down.sent.retrying, down.sent.sent, down.sent.waiting) == (
            1200,
            0,
            0,
        )  # one try of the one digest, all of its rows to retry
        mailbox.start()
        clock.move_to("2026-06-15 11:01:06")  # after the first backoff
        up = notify.run(migrated_engine, matching_dockets, parts)
    [digest] = mailbox.messages
    assert (up.sent.emails, up.sent.sent) == (1, 1200)
    assert digest["Subject"] == "[ctforeclosure] 1,200 updates: Bethel"
    with migrated_engine.connect() as conn:
        rows = outbox(conn)
    assert {(r.status, r.attempts) for r in rows} == {("sent", 2)}


# PostgreSQL: its protocol carries at most 65,535 bound values a statement, and
# what failed was a statement with one per waiting email (SQLite's limit here is
# 250,000).
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_long_smtp_outage_holds_back_no_webhook(migrated_engine, mailbox):
    """66,000 emails due while the SMTP server is down: one is tried, the rest
    wait (counted), and the webhook due behind them is delivered in the same run.
    The sender used to leave out the untried rows by id, each batch's read longer
    than the last, until one carried more ids than PostgreSQL takes: the run
    failed, and the webhook waited with the emails."""
    count = 66_000
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        subscribe(conn, ann, bethel, ["law_day"], email_mode="immediate")
        receiver = Receiver()
        made = subscribe(conn, ann, bethel, ["disposition"], webhook_url=receiver.url)
        receiver.secret = made.webhook_secret
        [docket] = new_cases(conn, "Bethel", 1)
        law_days = [
            {"docket_no": docket, "kind": "law_day", "field": "law_day"}
            | {"old_value": None, "new_value": f"2027-01-{n % 28 + 1:02d}"}
            | {"seen_at": NOW}
            for n in range(count)
        ]
        conn.execute(case_changes.insert(), law_days)
        change(conn, docket, "disposition", None, "Withdrawn")
    serve(receiver)
    try:
        down = _run(migrated_engine, settings(mailbox.port))  # nothing listens yet
    finally:
        receiver.shutdown()
    assert down.matched.outbox == count + 1
    assert (down.sent.retrying, down.sent.waiting) == (1, count - 1)
    assert (down.sent.webhooks, len(receiver.delivered())) == (1, 1)
