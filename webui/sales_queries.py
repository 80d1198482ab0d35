"""Read-only queries over the sales table, shared by the sales page, API and exports.

One :class:`SaleFilter` read from query arguments drives the sales page, ``GET
/api/v1/sales`` and the sales exports, so a shared URL means the same rows
everywhere. Only postings still on the site's list are listed; a case's page and
API answer also show those that left it, with their history.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from ctforeclosure import dockets
from ctforeclosure.db import case_changes, cases, sales
from ctforeclosure.parsers.court_clock import COURT_TZ
from ctforeclosure.store.changes import SALE_KINDS, SHOWN_COLUMNS
from webui import params
from webui.params import County, Day, Page, PerPage, Text, Town

__all__ = [
    "SALE_CHANGE_KINDS",
    "SALE_STATUSES",
    "SaleFilter",
    "case_sales",
    "count_sales",
    "get_sale",
    "iter_sales",
    "list_sales",
    "matching_dockets",
    "sale_history",
    "week_groups",
]

SALE_STATUSES = ("all", "scheduled", "cancelled")
#: The court's clock: sale times are Connecticut's.
SALE_TZ = COURT_TZ
#: The change-history kinds the sales store writes.
SALE_CHANGE_KINDS = SALE_KINDS
LIST_COLUMNS = (
    sales.c.posting_id,
    sales.c.docket_no,
    sales.c.town,
    sales.c.county,
    sales.c.sale_at,
    sales.c.sale_date,
    sales.c.sale_time,
    sales.c.sale_type,
    sales.c.property_type,
    sales.c.address_raw,
    sales.c.status,
    sales.c.cancel_reason,
    sales.c.deposit,
    sales.c.listed,
    cases.c.case_name,
)


@pydantic_dataclass(config=ConfigDict(extra="ignore"))
class SaleFilter:
    """What the user asked of the sales list; a bad value is a BadParameter."""

    q: Text = Field("", description="docket number, address or case name")
    town: Town = Field("", description="a Connecticut town (any spelling)")
    county: County = Field("", description="a Connecticut county")
    date_from: Day = Field(None, description="a sale date, YYYY-MM-DD")
    date_to: Day = Field(None, description="a sale date, YYYY-MM-DD")
    status: Literal[SALE_STATUSES] = Field("all", description=" | ".join(SALE_STATUSES))
    property_type: params.text(120) = Field(
        "", description="a property type as printed, e.g. Residential"
    )
    page: Page = Field(1, description=params.PAGE_TEXT)
    per_page: PerPage = Field(100, description=params.PER_PAGE_TEXT)

    @classmethod
    def from_args(cls, args) -> SaleFilter:
        """Read query arguments; raise BadParameter naming the first bad one."""
        flt = params.parse(cls, args)
        if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
            raise params.BadParameter(
                "date_to", "a date on or after date_from", "is before date_from"
            )
        return flt

    def as_args(self) -> dict[str, str]:
        """Return the non-default values as query arguments (audit, links)."""
        return params.changed_args(self)

    def conditions(self) -> list:
        """Return the WHERE conditions of the filter (listed postings only)."""
        found = [sales.c.listed.is_(True)]
        if self.town:
            found.append(sales.c.town == self.town)
        if self.county:
            found.append(sales.c.county == self.county)
        if self.date_from:
            found.append(sales.c.sale_date >= self.date_from)
        if self.date_to:
            found.append(sales.c.sale_date <= self.date_to)
        if self.status != "all":
            found.append(sales.c.status == self.status)
        if self.property_type:
            found.append(
                sa.func.lower(sales.c.property_type) == self.property_type.lower()
            )
        if self.q:
            found.append(self._text_condition())
        return found

    def _text_condition(self):
        if dockets.is_valid(self.q):
            return sales.c.docket_no == dockets.compact(self.q)
        pattern = "%" + self.q.upper().replace("%", "").replace("_", "") + "%"
        return sa.or_(
            sa.func.upper(sales.c.address_raw).like(pattern),
            sa.func.upper(cases.c.case_name).like(pattern),
        )


#: A posting with its case (the text filter reads the case's name).
_WITH_CASE = sales.join(cases, cases.c.docket_no == sales.c.docket_no)


def _select(flt: SaleFilter) -> sa.Select:
    return (
        sa.select(*LIST_COLUMNS)
        .select_from(_WITH_CASE)
        .where(*flt.conditions())
        .order_by(sales.c.sale_at, sales.c.posting_id)
    )


def matching_dockets(flt: SaleFilter) -> sa.Select:
    """Return a statement selecting the dockets of the postings ``flt`` matches (for
    an ``IN``): the cases a saved sales search watches."""
    statement = sa.select(sales.c.docket_no).select_from(_WITH_CASE)
    return statement.where(*flt.conditions())


def list_sales(conn: sa.Connection, flt: SaleFilter) -> tuple[list, int]:
    """Return one page of matching sales (soonest first) and how many match."""
    stmt = _select(flt)
    total = count_sales(conn, flt)
    page = stmt.limit(flt.per_page).offset((flt.page - 1) * flt.per_page)
    return conn.execute(page).all(), total


def iter_sales(engine: sa.Engine, flt: SaleFilter, chunk: int = 500):
    """Yield every matching sale (soonest first) from a server-side cursor, its own
    connection released when the generator is closed."""
    streamed = {"stream_results": True, "yield_per": chunk}
    with engine.connect() as conn:
        for rows in conn.execute(_select(flt), execution_options=streamed).partitions():
            yield from rows


def count_sales(conn: sa.Connection, flt: SaleFilter) -> int:
    """Return how many sales match (no limit)."""
    stmt = _select(flt).order_by(None).subquery()
    return conn.execute(sa.select(sa.func.count()).select_from(stmt)).scalar_one()


def get_sale(conn: sa.Connection, posting_id: int):
    """Return one posting with every stored column, or None."""
    return conn.execute(
        sa.select(sales).where(sales.c.posting_id == posting_id)
    ).first()


def case_sales(conn: sa.Connection, docket_no: str) -> list:
    """Return a case's postings, listed or not, newest sale first."""
    return conn.execute(
        sa.select(sales)
        .where(sales.c.docket_no == docket_no)
        .order_by(sales.c.sale_at.desc(), sales.c.posting_id.desc())
    ).all()


def sale_history(conn: sa.Connection, docket_no: str) -> list:
    """Return a case's sale changes, oldest first."""
    return conn.execute(
        sa.select(*SHOWN_COLUMNS)
        .where(
            case_changes.c.docket_no == docket_no,
            case_changes.c.kind.in_(SALE_CHANGE_KINDS),
        )
        .order_by(case_changes.c.id)
    ).all()


def week_groups(rows, today: date) -> list[tuple[str, list]]:
    """Group sales by this week, next week and later (earlier: still listed)."""
    monday = today - timedelta(days=today.weekday())
    next_monday, after = monday + timedelta(days=7), monday + timedelta(days=14)
    groups = {"Earlier": [], "This week": [], "Next week": [], "Later": []}
    for row in rows:
        day = row.sale_date
        if day is None or day >= after:
            groups["Later"].append(row)
        elif day >= next_monday:
            groups["Next week"].append(row)
        elif day >= monday:
            groups["This week"].append(row)
        else:
            groups["Earlier"].append(row)
    return [(title, found) for title, found in groups.items() if found]


def _when(moment: dict | None) -> str:
    """Return a stored sale moment as the court prints it, in Connecticut time."""
    text = (moment or {}).get("sale_at")
    if not text:
        return "an unknown date"
    local = datetime.fromisoformat(text).astimezone(SALE_TZ)
    return local.strftime("%m/%d/%Y %I:%M %p")


def describe(change) -> str:
    """Return one sale change as a sentence ("moved from ... to ...")."""
    old, new = change.old_value or {}, change.new_value or {}
    if change.kind == "sale_moved":
        return f"Sale moved from {_when(old)} to {_when(new)}"
    if change.kind == "sale_cancelled":
        reason = new.get("reason") or "no reason given"
        return f"Sale of {_when(new)} cancelled because: {reason}"
    if change.kind == "sale_unlisted":
        when = "after" if new.get("after_sale_date") else "before"
        return (
            f"Sale of {_when(old)} ({old.get('status', 'scheduled')}) left the "
            f"court's list {when} its date"
        )
    if change.kind == "sale_relisted":
        return f"Sale of {_when(new)} listed again"
    return f"Sale scheduled for {_when(new)}"
