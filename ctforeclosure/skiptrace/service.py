"""The skip-trace service: the one way in for the pipeline, the CLI and the web UI.

Spending is deliberate, bounded and never duplicated:

1. :meth:`SkipTraceService.quote` says what a trace would do, spending nothing:
   the records to send, their worst-case cost (every record matched), the parties
   skipped and why (:mod:`ctforeclosure.skiptrace.eligibility`), the parties going to
   the review list, and the earlier results that will be reused free (the same
   normalised person and address traced within ``SKIPTRACE_DEDUPE_DAYS``).
2. :meth:`SkipTraceService.run` spends: batch by batch, each batch first checked
   against the per-run and per-calendar-month budgets (``SKIPTRACE_RUN_BUDGET``,
   ``SKIPTRACE_MONTHLY_BUDGET``, worst case), one ledger row per API call, results
   stored per party. A batch whose outcome is unknown (read timeout after sending)
   is marked ``unknown_reconcile``, counted as spent, and never sent again until a
   person decides (:meth:`SkipTraceService.reconcile`).

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
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ctforeclosure import config, db, migrate
from ctforeclosure.db import aware
from ctforeclosure.services import alerts, audit
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
]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: PostgreSQL advisory lock id serialising skip-trace claims ("ctf-skip").
CLAIM_LOCK = 0x637466736B6970


class NotConfiguredError(RuntimeError):
    """Skip tracing is off: no BatchData base URL or API key."""


class BudgetExceeded(RuntimeError):
    """Nothing can be sent without going over a budget cap."""


def month_start(now: datetime) -> datetime:
    """Return midnight UTC on the first day of ``now``'s calendar month."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


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
        self.settings = settings or SkipTraceSettings.from_env()
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
            plaintiffs = store.plaintiff_names(conn, (r.docket_no for r in rows))
            decisions = []
            for row in rows:
                d = decide(
                    row._mapping, row._mapping, plaintiffs.get(row.docket_no, ())
                )
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
            earlier = store.results_for(
                conn,
                party_ids=[r.party_id for r, d, _ in decisions if d.action != "skip"],
                keys=[k for _, _, k in decisions if k],
            )
            month_spent = store.spent_since(conn, month_start(now), self.sandbox)
        by_party: dict[int, list] = {}
        by_key: dict[str, list] = {}
        for res in earlier:
            by_party.setdefault(res.party_id, []).append(res)
            by_key.setdefault(res.person_key, []).append(res)

        def fresh(res) -> bool:
            return res.status in store.DONE_STATUSES and (
                aware(res.fetched_at) >= fresh_after and res.sandbox == self.sandbox
            )

        records: dict[str, TraceRecord] = {}
        reuse: list[tuple[int, int]] = []
        review: list[ReviewItem] = []
        skipped: list[Skipped] = []

        def skip(row, reason: str) -> None:
            skipped.append(Skipped(row.party_id, row.docket_no, row.party_no, reason))

        for row, d, key in decisions:
            if d.action == "skip":
                skip(row, d.reason)
                continue
            own = by_party.get(row.party_id, [])
            if any(r.status == "unknown_reconcile" for r in own + by_key.get(key, [])):
                skip(row, "awaiting reconcile (an earlier call's outcome is unknown)")
                continue
            if d.action == "review":
                if any(r.status == "review" and r.person_key == key for r in own):
                    skip(row, "already on the review list")
                else:
                    review.append(
                        ReviewItem(
                            row.party_id, row.docket_no, row.party_no, key, d.reason
                        )
                    )
                continue
            if any(r.status == "review" and r.person_key == key for r in own):
                skip(row, "on the review list (a person decided not to trace)")
                continue
            if any(fresh(r) and r.person_key == key for r in own):
                skip(row, f"already traced within {self.settings.dedupe_days} days")
                continue
            earlier_same = [r for r in by_key.get(key, []) if fresh(r)]
            if earlier_same:
                newest = max(earlier_same, key=lambda r: aware(r.fetched_at))
                reuse.append((row.party_id, newest.id))
                continue
            if key in records:
                rec = records[key]
                records[key] = TraceRecord(
                    key, rec.person, rec.address, (*rec.party_ids, row.party_id)
                )
            else:
                records[key] = TraceRecord(key, d.person, d.address, (row.party_id,))
        to_send = list(records.values())
        if limit is not None and len(to_send) > limit:
            rows_by_id = {r.party_id: r for r, _, _ in decisions}
            for rec in to_send[limit:]:
                for pid in rec.party_ids:
                    skip(rows_by_id[pid], f"over the limit of {limit} records")
            to_send = to_send[:limit]
        return Quote(
            records=to_send,
            reuse=reuse,
            review=review,
            skipped=skipped,
            unit_cost=self.settings.unit_cost,
            sandbox=self.sandbox,
            run_budget=self.settings.run_budget,
            monthly_budget=self.settings.monthly_budget,
            month_spent=month_spent,
            created_at=now,
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
        """Return how many records may be sent now without passing a budget cap."""
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
        s = self.settings
        result = RunResult()
        now = datetime.now(UTC)
        expires = now + timedelta(days=s.retention_days)
        if quote.records:
            with self.engine.connect() as conn:
                room = self._room(conn, Decimal(0))
                message = "" if room else self._budget_message(conn, Decimal(0))
            if not room:
                with self.engine.begin() as conn:
                    details = {"reason": message, "records": len(quote.records)}
                    audit.record(conn, triggered_by, "skiptrace.refused", None, details)
                alerts.skiptrace_budget_exhausted(message=message)
                raise BudgetExceeded(f"Refused: {message}")
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
        result.review = len(quote.review)
        result.reused = len(quote.reuse)
        total = len(quote.records)
        pending = list(quote.records)
        done = 0
        if progress:
            progress(0, total)
        with self._client() as client:
            while pending:
                with self.engine.connect() as conn:
                    room = self._room(conn, result.cost)
                    if room == 0:
                        result.stopped = self._budget_message(conn, result.cost)
                        alerts.skiptrace_budget_exhausted(message=result.stopped)
                        break
                batch, pending = (
                    pending[: min(s.batch_size, room)],
                    pending[min(s.batch_size, room) :],
                )
                batch, ledger_id = self._claim(batch, triggered_by, result)
                if not batch:
                    continue
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
                    result.cost += s.unit_cost * len(batch)
                    result.stopped = str(exc)
                    break
                except BatchDataError as exc:
                    self._settle_error(ledger_id, batch, result)
                    result.stopped = str(exc)
                    break
                self._settle_ok(ledger_id, batch, answer, result)
                done += len(batch)
                if progress:
                    progress(done, total)
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
        return result

    def _claim(
        self, batch: list[TraceRecord], triggered_by: str, result: RunResult
    ) -> tuple[list[TraceRecord], int | None]:
        """Write the batch down *before* sending it; return what is left to send.

        Records another run traced since the quote are reused instead. The rest get
        an ``unknown_reconcile`` ledger row (worst-case cost) and result rows first:
        if this process dies while the vendor has the request, the records are
        already marked for reconcile and never re-sent blindly, and a concurrent
        run sees them as in flight.
        """
        s = self.settings
        now = datetime.now(UTC)
        fresh_after = now - timedelta(days=s.dedupe_days)
        with self.engine.begin() as conn:
            # Claims are taken one run at a time, so two runs (crawl, CLI, web) never
            # both send a person: the ledger row is written first (on SQLite that
            # takes the database's write lock) and PostgreSQL takes a lock too.
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK}
                )
            ledger_id = store.insert_ledger(
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
            earlier = store.results_for(conn, keys=[r.person_key for r in batch])
            newest: dict[str, sa.Row] = {}
            blocked = set()
            for res in earlier:
                if res.status == "unknown_reconcile":
                    blocked.add(res.person_key)
                if (
                    res.status in store.DONE_STATUSES
                    and res.sandbox == self.sandbox
                    and aware(res.fetched_at) >= fresh_after
                ):
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
            ledger = db.skiptrace_ledger
            if not keep:
                conn.execute(ledger.delete().where(ledger.c.id == ledger_id))
                return [], None
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
        return keep, ledger_id

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
        rows become ``error``, which the next quote re-sends). ``decision="skip"``:
        keep them out of automatic traces (the rows become ``review``). Returns the
        number of rows changed.
        """
        status = {"retry": "error", "skip": "review"}[decision]
        r = db.skiptrace_results
        with self.engine.begin() as conn:
            changed = conn.execute(
                r.update()
                .where(r.c.id.in_(list(result_ids)), r.c.status == "unknown_reconcile")
                .values(status=status)
            ).rowcount
            audit.record(
                conn,
                decided_by,
                "skiptrace.reconcile",
                None,
                {"decision": decision, "results": list(result_ids), "changed": changed},
            )
        return changed
