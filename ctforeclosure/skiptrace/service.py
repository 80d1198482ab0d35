"""The skip-trace service: the one way in for the pipeline, the CLI and the web UI.

Spending is deliberate, bounded and never duplicated:

1. :meth:`SkipTraceService.quote` says what a trace would do, spending nothing:
   the records to send, their worst-case cost (every record matched), the parties
   skipped and why (:mod:`ctforeclosure.skiptrace.eligibility`), the parties going to
   the review list, and the earlier results that will be reused free (the same
   normalised person and address traced within ``SKIPTRACE_DEDUPE_DAYS``).
2. :meth:`SkipTraceService.run` spends: batch by batch, one ledger row per API call,
   results stored per party. Each batch is claimed under the claim lock, and in
   that same transaction cut to what fits the per-run and per-calendar-month
   budgets (``SKIPTRACE_RUN_BUDGET``, ``SKIPTRACE_MONTHLY_BUDGET``): the ledger row
   reserves the batch's worst case (every record matched) before anything is sent,
   and the vendor's answer settles it. So runs started together (crawl, web, CLI)
   never pass a cap between them, even for a moment. A batch whose outcome is
   unknown (read timeout after sending, or the process died) keeps its reservation
   and is never sent again until a person decides
   (:meth:`SkipTraceService.reconcile`), which also settles the reservation.

Configuration: ``BATCHDATA_BASE_URL`` and ``BATCHDATA_API_KEY`` through
``ctforeclosure.config.load()``; the ``SKIPTRACE_*`` variables are listed in
:mod:`ctforeclosure.skiptrace.settings` (unit cost, budgets, dedupe TTL, retention,
batch size, timeouts, retries). Results from any base URL but the production API are
tagged ``sandbox``.

Usage::

    service = SkipTraceService.from_config(engine)
    quote = service.quote(town="Hartford")
    print("\\n".join(quote.lines()))
    result = service.run(quote, triggered_by="user@example.org",
                         progress=lambda done, total: ...)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ctforeclosure import config, db, migrate
from ctforeclosure.db import aware
from ctforeclosure.services import alerts, audit, contacts
from ctforeclosure.skiptrace import store
from ctforeclosure.skiptrace.client import (
    AmbiguousOutcome,
    AuthError,
    BatchDataClient,
    BatchDataError,
)
from ctforeclosure.skiptrace.eligibility import decide
from ctforeclosure.skiptrace.normalize import Address, person_key
from ctforeclosure.skiptrace.quote import (
    Quote,
    ReviewItem,
    RunResult,
    Skipped,
    TraceRecord,
)
from ctforeclosure.skiptrace.settings import SkipTraceSettings

__all__ = [
    "BudgetExceeded",
    "NotConfiguredError",
    "Quote",
    "RunResult",
    "SkipTraceService",
    "new_defendants",
]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: A quote's reason for a person on the do-not-contact list (never sent, unbilled).
DO_NOT_CONTACT = "on the do-not-contact list"
#: PostgreSQL advisory lock id serialising skip-trace claims ("ctf-skip").
CLAIM_LOCK = 0x637466736B6970


@dataclass
class _Claim:
    """What one claim decided: the records reserved and sent now, and the rest."""

    records: list[TraceRecord] = field(default_factory=list)
    ledger_id: int | None = None
    #: Records that did not fit the budgets' room: they wait for a later claim.
    back: list[TraceRecord] = field(default_factory=list)
    #: Why nothing fits (a budget message), or None.
    stopped: str | None = None


def lock_claims(conn: sa.Connection) -> None:
    """Serialise this transaction with every other claim and reconcile.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: ``BEGIN IMMEDIATE``
    takes the database's write lock first, so a second claimer waits for it (busy
    timeout) instead of failing with "database is locked" when a read-started
    transaction tries to write. Settling a batch needs no lock: it only lowers a
    reservation to the billed cost, which can free room but never take it.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class NotConfiguredError(RuntimeError):
    """Skip tracing is off: no BatchData base URL or API key."""


class BudgetExceeded(RuntimeError):
    """Nothing can be sent without going over a budget cap."""


def new_defendants(new_parties: Sequence[dict]) -> list[int]:
    """Return the ids of the defendants among newly stored parties.

    ``new_parties`` as the ``parties_stored`` signal and a spool replay give them;
    only defendants can be eligible, and the quote decides the rest.
    """
    return [p["party_id"] for p in new_parties if p.get("role") == "D"]


def month_start(now: datetime) -> datetime:
    """Return midnight UTC on the first day of ``now``'s calendar month."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _decisions(conn: sa.Connection, rows: Sequence[sa.Row]) -> list[tuple]:
    """Return (row, eligibility decision, person key or None) for each candidate."""
    plaintiffs = store.plaintiff_names(conn, (r.docket_no for r in rows))
    decisions = []
    for row in rows:
        d = decide(row._mapping, row._mapping, plaintiffs.get(row.docket_no, ()))
        key = None
        if d.person is not None:
            addr = d.address or Address(
                street=(row.property_street or row.listing_street or ""),
                city=row.property_town or row.search_town,
                state="CT",
                zip=None,
            )
            key = person_key(d.person, addr)
        decisions.append((row, d, key))
    return decisions


def likely_owners(conn: sa.Connection, docket_nos: Sequence[str]) -> list[tuple]:
    """Return (party row, decision, person key) for each likely owner of these
    cases: the people the eligibility rule would trace (or review for an unusable
    address), never banks, placeholders or the plaintiff's side."""
    rows = store.candidates(conn, docket_nos=list(docket_nos))
    return [t for t in _decisions(conn, rows) if t[1].action != "skip"]


def person_keys(conn: sa.Connection, party_ids: Sequence[int]) -> dict[int, str]:
    """Return the person key of each of these parties that names a person (the
    key a trace would use, and the do-not-contact list's key of a person)."""
    if not party_ids:
        return {}
    rows = store.candidates(conn, party_ids=list(party_ids))
    return {row.party_id: key for row, _, key in _decisions(conn, rows) if key}


class _QuoteSorter:
    """Sort a quote's candidates into records to send, reuses, reviews and skips."""

    def __init__(
        self, earlier: Sequence[sa.Row], fresh: Callable[[sa.Row], bool], dedupe_days
    ) -> None:
        self.by_party: dict[int, list] = {}
        self.by_key: dict[str, list] = {}
        for res in earlier:
            self.by_party.setdefault(res.party_id, []).append(res)
            self.by_key.setdefault(res.person_key, []).append(res)
        self.fresh = fresh
        self.dedupe_days = dedupe_days
        self.records: dict[str, TraceRecord] = {}
        self.reuse: list[tuple[int, int]] = []
        self.review: list[ReviewItem] = []
        self.skipped: list[Skipped] = []

    def skip(self, row, reason: str) -> None:
        self.skipped.append(Skipped(row.party_id, row.docket_no, row.party_no, reason))

    def add(self, row, d, key) -> None:
        """Sort one candidate by its decision and the earlier results."""
        if d.action == "skip":
            self.skip(row, d.reason)
            return
        own = self.by_party.get(row.party_id, [])
        same_person = self.by_key.get(key, [])
        if any(r.status == "unknown_reconcile" for r in own + same_person):
            self.skip(row, "awaiting reconcile (an earlier call's outcome is unknown)")
            return
        on_review = any(r.status == "review" and r.person_key == key for r in own)
        if d.action == "review":
            if on_review:
                self.skip(row, "already on the review list")
            else:
                self.review.append(
                    ReviewItem(row.party_id, row.docket_no, row.party_no, key, d.reason)
                )
            return
        if on_review:
            self.skip(row, "on the review list (a person decided not to trace)")
            return
        if any(self.fresh(r) and r.person_key == key for r in own):
            self.skip(row, f"already traced within {self.dedupe_days} days")
            return
        earlier_same = [r for r in same_person if self.fresh(r)]
        if earlier_same:
            newest = max(earlier_same, key=lambda r: aware(r.fetched_at))
            self.reuse.append((row.party_id, newest.id))
            return
        rec = self.records.get(key)
        if rec is not None:
            party_ids = (*rec.party_ids, row.party_id)
            self.records[key] = TraceRecord(key, rec.person, rec.address, party_ids)
        else:
            self.records[key] = TraceRecord(key, d.person, d.address, (row.party_id,))

    def records_within(self, limit: int | None, rows) -> list[TraceRecord]:
        """Return the records to send, the first ``limit``; skip the parties of the
        others."""
        to_send = list(self.records.values())
        if limit is None or len(to_send) <= limit:
            return to_send
        rows_by_id = {r.party_id: r for r in rows}
        for rec in to_send[limit:]:
            for pid in rec.party_ids:
                self.skip(rows_by_id[pid], f"over the limit of {limit} records")
        return to_send[:limit]


class SkipTraceService:
    """Quote and run skip traces against one database and one BatchData base URL."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        base_url: str | None,
        api_key: str | None,
        sandbox: bool,
        settings: SkipTraceSettings | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.engine = engine
        self.base_url = base_url
        self.api_key = api_key
        self.sandbox = sandbox
        self.settings = settings or SkipTraceSettings.from_config(config.load())
        self._sleep = sleep

    @classmethod
    def from_config(
        cls, engine: sa.Engine, settings: SkipTraceSettings | None = None
    ) -> SkipTraceService:
        """Build the service from the environment; refuse an outdated schema."""
        migrate.require_current(engine)
        cfg = config.load()
        return cls(
            engine,
            base_url=cfg.batchdata_base_url,
            api_key=cfg.batchdata_api_key,
            sandbox=cfg.batchdata_is_sandbox,
            settings=settings,
        )

    @property
    def configured(self) -> bool:
        """True when a base URL and an API key are set (skip tracing is on)."""
        return bool(self.base_url and self.api_key)

    # -- quote -------------------------------------------------------------------

    def quote(
        self,
        docket_nos: Sequence[str] | None = None,
        town: str | None = None,
        pending: bool = False,
        party_ids: Sequence[int] | None = None,
        limit: int | None = None,
    ) -> Quote:
        """Return what tracing the selected parties would send, reuse and skip."""
        now = datetime.now(UTC)
        fresh_after = now - timedelta(days=self.settings.dedupe_days)
        with self.engine.connect() as conn:
            rows = store.candidates(
                conn,
                docket_nos=docket_nos,
                town=town,
                pending=pending,
                party_ids=party_ids,
            )
            decisions = _decisions(conn, rows)
            earlier = store.results_for(
                conn,
                party_ids=[r.party_id for r, d, _ in decisions if d.action != "skip"],
                keys=[k for _, _, k in decisions if k],
            )
            month_spent = store.spent_since(conn, month_start(now), self.sandbox)
            do_not_contact = contacts.suppressed_people(
                conn, [k for _, d, k in decisions if k and d.action != "skip"]
            )
        sorter = _QuoteSorter(
            earlier,
            fresh=lambda res: self._fresh(res, fresh_after),
            dedupe_days=self.settings.dedupe_days,
        )
        for row, decision, key in decisions:
            if key in do_not_contact and decision.action != "skip":
                sorter.skip(row, DO_NOT_CONTACT)
            else:
                sorter.add(row, decision, key)
        return Quote(
            records=sorter.records_within(limit, [row for row, _, _ in decisions]),
            reuse=sorter.reuse,
            review=sorter.review,
            skipped=sorter.skipped,
            unit_cost=self.settings.unit_cost,
            sandbox=self.sandbox,
            run_budget=self.settings.run_budget,
            monthly_budget=self.settings.monthly_budget,
            month_spent=month_spent,
            created_at=now,
        )

    def trace_parties(
        self, party_ids: Sequence[int], triggered_by: str
    ) -> RunResult | None:
        """Quote and run these parties (new ones a crawl or a replay stored).

        Returns None when there is nothing to send, reuse or list for review. The
        same eligibility, budgets and dedupe as any run; raises as :meth:`run`.
        """
        quote = self.quote(party_ids=party_ids)
        if not (quote.records or quote.reuse or quote.review):
            return None
        return self.run(quote, triggered_by=triggered_by)

    def _fresh(self, res: sa.Row, fresh_after: datetime) -> bool:
        """True for a finished result of this sandbox flag, recent enough to reuse."""
        return res.status in store.DONE_STATUSES and (
            aware(res.fetched_at) >= fresh_after and res.sandbox == self.sandbox
        )

    # -- run ---------------------------------------------------------------------

    def _client(self) -> BatchDataClient:
        s = self.settings
        kwargs = {}
        if self._sleep is not None:
            kwargs["sleep"] = self._sleep
        return BatchDataClient(
            self.base_url,
            self.api_key,
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            max_retries=s.max_retries,
            backoff=s.backoff,
            user_agent=config.load().user_agent(),
            **kwargs,
        )

    def _room(self, conn: sa.Connection, run_spent: Decimal) -> int:
        """Return how many records may be sent now without passing a budget cap.

        The month's spend is the ledger's, reservations of batches in flight
        included; only a claim (under the claim lock) may act on the answer.
        """
        s = self.settings
        now = datetime.now(UTC)
        month_spent = store.spent_since(conn, month_start(now), self.sandbox)
        room = min(s.run_budget - run_spent, s.monthly_budget - month_spent)
        if s.unit_cost <= 0:
            return 10**9
        return max(0, int(room // s.unit_cost))

    def _budget_message(self, conn: sa.Connection, run_spent: Decimal) -> str:
        s = self.settings
        now = datetime.now(UTC)
        month_spent = store.spent_since(conn, month_start(now), self.sandbox)
        if s.monthly_budget - month_spent < s.run_budget - run_spent:
            return (
                f"monthly skip-trace budget reached: ${month_spent:.2f} of "
                f"${s.monthly_budget:.2f} spent in {now:%Y-%m}, and one more record "
                f"may cost ${s.unit_cost}. Raise SKIPTRACE_MONTHLY_BUDGET or wait "
                "for next month."
            )
        return (
            f"per-run skip-trace budget reached: ${run_spent:.2f} of "
            f"${s.run_budget:.2f} spent in this run, and one more record may cost "
            f"${s.unit_cost}. Raise SKIPTRACE_RUN_BUDGET or run again."
        )

    def run(
        self,
        quote: Quote,
        triggered_by: str,
        progress: Progress | None = None,
    ) -> RunResult:
        """Spend: trace the quote's records within the budget caps; store results.

        Raises :class:`NotConfiguredError` when skip tracing is off,
        :class:`AuthError` when the key is refused (nothing spent) and
        :class:`BudgetExceeded` when not one record fits the budget. Other failures
        stop the run and are reported in :attr:`RunResult.stopped`.
        """
        if not self.configured:
            raise NotConfiguredError(
                "skip tracing is off: set BATCHDATA_BASE_URL and BATCHDATA_API_KEY"
            )
        if quote.records:
            self._refuse_without_room(len(quote.records), triggered_by)
        result = RunResult()
        self._store_review_and_reuse(quote)
        result.review = len(quote.review)
        result.reused = len(quote.reuse)
        self._send(list(quote.records), triggered_by, result, progress)
        self._record_run(triggered_by, result)
        return result

    def _refuse_without_room(self, records: int, triggered_by: str) -> None:
        """Raise BudgetExceeded (audited, alerted) when not one record fits.

        A quick refusal before anything is stored; each claim decides again.
        """
        with self.engine.connect() as conn:
            room = self._room(conn, Decimal(0))
            message = "" if room else self._budget_message(conn, Decimal(0))
        if room:
            return
        with self.engine.begin() as conn:
            details = {"reason": message, "records": records}
            audit.record(conn, triggered_by, "skiptrace.refused", None, details)
        alerts.skiptrace_budget_exhausted(message=message)
        raise BudgetExceeded(f"Refused: {message}")

    def _store_review_and_reuse(self, quote: Quote) -> None:
        """Store the review list's rows and the free copies of earlier results."""
        now = datetime.now(UTC)
        expires = now + timedelta(days=self.settings.retention_days)
        with self.engine.begin() as conn:
            for item in quote.review:
                store.insert_result(
                    conn,
                    party_id=item.party_id,
                    person_key=item.person_key,
                    status="review",
                    sandbox=self.sandbox,
                    fetched_at=now,
                    expires_at=expires,
                )
            for party_id, source_id in quote.reuse:
                store.copy_result(conn, source_id, party_id)

    def _send(
        self,
        pending: list[TraceRecord],
        triggered_by: str,
        result: RunResult,
        progress: Progress | None,
    ) -> None:
        """Send the records in batches while the budgets allow; stop at a failure.

        Each claim decides how many records fit (under the claim lock); records it
        could not fit go back to the front of the queue, since a settled batch
        with no-match records frees room for them.
        """
        size = self.settings.batch_size
        total = len(pending)
        done = 0
        if progress:
            progress(0, total)
        with self._client() as client:
            while pending:
                claim = self._claim(pending[:size], triggered_by, result)
                pending = claim.back + pending[size:]
                if claim.stopped:
                    result.stopped = claim.stopped
                    alerts.skiptrace_budget_exhausted(message=result.stopped)
                    break
                if not claim.records:
                    continue
                batch = claim.records
                if not self._send_batch(
                    client, batch, claim.ledger_id, triggered_by, result
                ):
                    break
                done += len(batch)
                if progress:
                    progress(done, total)

    def _send_batch(
        self, client, batch, ledger_id: int, triggered_by: str, result: RunResult
    ) -> bool:
        """Send one claimed batch and settle it; return False when the run stops."""
        try:
            answer = client.skip_trace([r.request_item() for r in batch])
        except AuthError:
            self._release(ledger_id)
            with self.engine.begin() as conn:
                audit.record(conn, triggered_by, "skiptrace.auth_failed")
            raise
        except AmbiguousOutcome as exc:
            # The claim stays as it is: unknown outcome, counted as spent.
            result.ledger_ids.append(ledger_id)
            result.reconcile += len(batch)
            result.cost += self.settings.unit_cost * len(batch)
            result.stopped = str(exc)
            return False
        except BatchDataError as exc:
            self._settle_error(ledger_id, batch, result)
            result.stopped = str(exc)
            return False
        self._settle_ok(ledger_id, batch, answer, result)
        return True

    def _record_run(self, triggered_by: str, result: RunResult) -> None:
        """Audit the run (counts and cost only) and log its summary."""
        with self.engine.begin() as conn:
            audit.record(
                conn,
                triggered_by,
                "skiptrace.run",
                None,
                {
                    "sent": result.sent,
                    "matched": result.matched,
                    "no_match": result.no_match,
                    "reused": result.reused,
                    "review": result.review,
                    "reconcile": result.reconcile,
                    "errors": result.errors,
                    "cost": str(result.cost),
                    "sandbox": self.sandbox,
                    "stopped": result.stopped,
                },
            )
        logger.info(
            "skip trace by %s: %d sent, %d matched, cost %s%s",
            triggered_by,
            result.sent,
            result.matched,
            result.cost,
            f"; stopped: {result.stopped}" if result.stopped else "",
        )

    def _claim(
        self, candidates: list[TraceRecord], triggered_by: str, result: RunResult
    ) -> _Claim:
        """Reserve the candidates that fit the budgets *before* sending them.

        One transaction under the claim lock: records another run traced since
        the quote are reused instead; the room left under both caps is read (the
        month's ledger, other runs' reservations included, and this run's spend);
        the records that fit get an ``unknown_reconcile`` ledger row carrying
        their worst-case cost (the reservation) and result rows. If this process
        dies while the vendor has the request, the records are already marked for
        reconcile and never re-sent blindly, a concurrent run sees them as in
        flight, and the month's spend counts them.
        """
        now = datetime.now(UTC)
        ledger = db.skiptrace_ledger
        with self.engine.begin() as conn:
            ledger_id = self._open_claim(conn, now, triggered_by)
            keep = self._reuse_or_keep(conn, candidates, now, result)
            room = self._room(conn, result.cost) if keep else 0
            if not room:
                conn.execute(ledger.delete().where(ledger.c.id == ledger_id))
                if not keep:
                    return _Claim()
                message = self._budget_message(conn, result.cost)
                return _Claim(back=keep, stopped=message)
            fits, back = keep[:room], keep[room:]
            self._write_claim(conn, ledger_id, fits, now)
        return _Claim(fits, ledger_id, back)

    def _open_claim(self, conn: sa.Connection, now: datetime, triggered_by: str) -> int:
        """Take the claim lock and write the ledger row; return its id."""
        # Claims are taken one run at a time, so two runs (crawl, CLI, web) never
        # both send a person nor both spend the same room under a cap.
        lock_claims(conn)
        return store.insert_ledger(
            conn,
            at=now,
            triggered_by=triggered_by[:120],
            records_sent=0,
            records_matched=0,
            cost=Decimal(0),
            sandbox=self.sandbox,
            provider_request_id=None,
            status="unknown_reconcile",
        )

    def _reuse_or_keep(
        self, conn, batch: list[TraceRecord], now: datetime, result: RunResult
    ) -> list[TraceRecord]:
        """Copy results traced since the quote; return the records still to send.

        A person whose earlier call awaits reconcile is neither reused nor sent.
        """
        fresh_after = now - timedelta(days=self.settings.dedupe_days)
        newest: dict[str, sa.Row] = {}
        blocked = set()
        for res in store.results_for(conn, keys=[r.person_key for r in batch]):
            if res.status == "unknown_reconcile":
                blocked.add(res.person_key)
            if self._fresh(res, fresh_after):
                old = newest.get(res.person_key)
                if old is None or aware(res.fetched_at) > aware(old.fetched_at):
                    newest[res.person_key] = res
        keep = []
        for rec in batch:
            if rec.person_key in newest:
                for pid in rec.party_ids:
                    store.copy_result(conn, newest[rec.person_key].id, pid)
                    result.reused += 1
            elif rec.person_key not in blocked:
                keep.append(rec)
        return keep

    def _write_claim(
        self, conn, ledger_id: int, keep: list[TraceRecord], now: datetime
    ) -> None:
        """Put the worst-case cost on the ledger row and an unknown result per party."""
        s = self.settings
        ledger = db.skiptrace_ledger
        conn.execute(
            ledger.update()
            .where(ledger.c.id == ledger_id)
            .values(records_sent=len(keep), cost=s.unit_cost * len(keep))
        )
        store.insert_results(
            conn,
            [
                {
                    "party_id": party_id,
                    "person_key": rec.person_key,
                    "status": "unknown_reconcile",
                    "sandbox": self.sandbox,
                    "fetched_at": now,
                    "expires_at": now + timedelta(days=s.retention_days),
                    "ledger_id": ledger_id,
                }
                for rec in keep
                for party_id in rec.party_ids
            ],
        )

    def _claimed(self, ledger_id: int):
        return db.skiptrace_results.c.ledger_id == ledger_id

    def _release(self, ledger_id: int) -> None:
        """Undo a claim whose request certainly did nothing (key refused)."""
        with self.engine.begin() as conn:
            conn.execute(db.skiptrace_results.delete().where(self._claimed(ledger_id)))
            conn.execute(
                db.skiptrace_ledger.delete().where(
                    db.skiptrace_ledger.c.id == ledger_id
                )
            )

    def _settle_ok(self, ledger_id, batch, answer, result: RunResult) -> None:
        """Replace the claim with the answer: ledger row and results per party."""
        s = self.settings
        now = datetime.now(UTC)
        matched = [bool((p.get("meta") or {}).get("matched")) for p in answer.persons]
        cost = s.unit_cost * sum(matched)
        with self.engine.begin() as conn:
            conn.execute(
                db.skiptrace_ledger.update()
                .where(db.skiptrace_ledger.c.id == ledger_id)
                .values(
                    records_matched=sum(matched),
                    cost=cost,
                    provider_request_id=answer.provider_request_id,
                    status="ok",
                )
            )
            conn.execute(db.skiptrace_results.delete().where(self._claimed(ledger_id)))
            store.insert_results(
                conn,
                [
                    {
                        "party_id": party_id,
                        "person_key": rec.person_key,
                        "status": "matched" if hit else "no_match",
                        "sandbox": self.sandbox,
                        "fetched_at": now,
                        "expires_at": now + timedelta(days=s.retention_days),
                        "person": person,
                        "provider_request_id": answer.provider_request_id,
                        "ledger_id": ledger_id,
                    }
                    for rec, person, hit in zip(
                        batch, answer.persons, matched, strict=True
                    )
                    for party_id in rec.party_ids
                ],
            )
        result.sent += len(batch)
        result.matched += sum(matched)
        result.no_match += len(batch) - sum(matched)
        result.cost += cost
        result.ledger_ids.append(ledger_id)

    def _settle_error(self, ledger_id, batch, result: RunResult) -> None:
        """The vendor certainly did not bill (refused or unreachable): cost 0."""
        with self.engine.begin() as conn:
            conn.execute(
                db.skiptrace_ledger.update()
                .where(db.skiptrace_ledger.c.id == ledger_id)
                .values(cost=Decimal(0), status="error")
            )
            conn.execute(
                db.skiptrace_results.update()
                .where(self._claimed(ledger_id))
                .values(status="error")
            )
        result.ledger_ids.append(ledger_id)
        result.errors += len(batch)

    # -- reconcile ---------------------------------------------------------------

    def needs_attention(self, status: str = "unknown_reconcile") -> list[sa.Row]:
        """Return results waiting for a person: ``unknown_reconcile`` or ``review``.

        Rows carry ``result_id``, ``party_id``, ``docket_no``, ``party_no``,
        ``fetched_at``, ``ledger_id`` and ``sandbox`` (no names, phones or emails).
        """
        r, p = db.skiptrace_results, db.parties
        query = (
            sa.select(
                r.c.id.label("result_id"),
                r.c.party_id,
                p.c.docket_no,
                p.c.party_no,
                r.c.fetched_at,
                r.c.ledger_id,
                r.c.sandbox,
            )
            .join(p, p.c.id == r.c.party_id)
            .where(r.c.status == status)
            .order_by(r.c.id)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def reconcile(
        self, result_ids: Sequence[int], decision: str, decided_by: str
    ) -> int:
        """Settle "unknown — reconcile" results after checking with the vendor.

        ``decision="retry"``: the records were not billed; trace them again (the
        rows become ``error``, which the next quote re-sends) and release their
        reservation on the ledger. ``decision="skip"``: keep them out of automatic
        traces (the rows become ``review``); their reservation stays as spent,
        since the vendor may have billed them and the month's spend must not be
        understated. A ledger row none of whose records is still unknown becomes
        ``ok`` (``error`` at cost 0 when every record was retried). Returns the
        number of rows changed.
        """
        status = {"retry": "error", "skip": "review"}[decision]
        r = db.skiptrace_results
        chosen = r.c.id.in_(list(result_ids)), r.c.status == "unknown_reconcile"
        with self.engine.begin() as conn:
            lock_claims(conn)
            ledger_ids = set(
                conn.execute(sa.select(r.c.ledger_id).where(*chosen)).scalars()
            )
            counted = {i: _counted_records(conn, i) for i in ledger_ids if i}
            changed = conn.execute(r.update().where(*chosen).values(status=status))
            for ledger_id, before in counted.items():
                _settle_reconciled(conn, ledger_id, before)
            audit.record(
                conn,
                decided_by,
                "skiptrace.reconcile",
                None,
                {
                    "decision": decision,
                    "results": list(result_ids),
                    "changed": changed.rowcount,
                },
            )
        return changed.rowcount


def _counted_records(conn: sa.Connection, ledger_id: int) -> int:
    """Return how many records of a ledger row still count as (maybe) billed.

    Those whose outcome is unknown and those a person settled with "skip"; one
    record is one person key, however many parties share it.
    """
    r = db.skiptrace_results.c
    return conn.execute(
        sa.select(sa.func.count(sa.distinct(r.person_key))).where(
            r.ledger_id == ledger_id, r.status.in_(("unknown_reconcile", "review"))
        )
    ).scalar_one()


def _settle_reconciled(conn: sa.Connection, ledger_id: int, before: int) -> None:
    """Cut a ledger row's reservation to the records still counted as billed."""
    ledger = db.skiptrace_ledger
    row = conn.execute(sa.select(ledger).where(ledger.c.id == ledger_id)).one()
    if row.status != "unknown_reconcile" or not before:
        return
    after = _counted_records(conn, ledger_id)
    r = db.skiptrace_results.c
    unknown = conn.execute(
        sa.select(sa.func.count()).where(
            r.ledger_id == ledger_id, r.status == "unknown_reconcile"
        )
    ).scalar_one()
    values: dict = {"cost": row.cost * after / before}
    if not unknown:
        values |= {"status": "ok" if after else "error", "records_matched": after}
    conn.execute(ledger.update().where(ledger.c.id == ledger_id).values(**values))
