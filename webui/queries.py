"""Read-only queries over the crawl tables, shared by the pages, the API and exports.

One :class:`CaseFilter` parsed from query arguments drives the cases list, the JSON
API and the exports, so a shared URL means the same rows everywhere.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Annotated, Literal, NamedTuple

import sqlalchemy as sa
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from ctforeclosure import dockets
from ctforeclosure.db import (
    case_changes,
    cases,
    court_dates,
    docket_entries,
    lead_statuses,
    lead_tags,
    leads,
    parties,
    skiptrace_emails,
    skiptrace_phones,
    skiptrace_results,
    users,
)
from ctforeclosure.parsers.court_clock import court_today
from ctforeclosure.services import lead_signals
from ctforeclosure.store import quality
from ctforeclosure.store.changes import SHOWN_COLUMNS
from ctforeclosure.store.sales import effective_sale_date
from webui import params
from webui.params import County, Day, Flag, Page, PerPage, Text, Town, text

SORTS = {
    "file_date": cases.c.file_date,
    "docket": cases.c.docket_no,
    "town": cases.c.search_town,
    "law_day": cases.c.law_day,
    "sale_date": cases.c.sale_date,
    "changed": cases.c.last_changed,
    # computed, not columns (COMPUTED_SORTS): hot first when "desc"
    "priority": None,
    "follow_up": None,
}
PRIORITY_RANKS = {"hot": 3, "warm": 2, "cold": 1}
STATUSES = ("all", "active", "disposed")
JUDGMENT_TYPES = ("strict", "sale")
#: ``quality=``: the data-quality report's flags (ctforeclosure.store.quality).
QUALITY_FLAGS = tuple(quality.QUALITY_FLAGS)
#: ``missed=``: how many of its town's last crawls a ``not_seen`` case missed.
MAX_MISSED_CRAWLS = 100
MISSED_TEXT = f"a whole number of crawls from 1 to {MAX_MISSED_CRAWLS}"
MissedCrawls = Annotated[int, Field(ge=1, le=MAX_MISSED_CRAWLS)]
MAX_PER_PAGE = params.MAX_PER_PAGE
#: A shorter text has no trigram for the indexes to look up: every name and street
#: would be read instead, as if there were no index.
MIN_SEARCH_CHARS = 3
SEARCH_TOO_SHORT = (
    f"Search needs at least {MIN_SEARCH_CHARS} characters: a docket number, or part "
    "of a name or street. For a short surname, add its comma, as in “Ng,”."
)
#: Counting every match of a broad filter costs more than the page itself (the page
#: is the first rows of an index in the shown order, migration 0004), and counting
#: to a small cap costs little (BENCHMARKS.md, web UI). Past this many the list says
#: "1,000+" (20 pages of 50).
COUNT_CAP = 1_000
LIST_COLUMNS = (
    cases.c.docket_no,
    cases.c.search_town,
    cases.c.county,
    cases.c.case_name,
    cases.c.property_street,
    cases.c.listing_street,
    cases.c.property_town,
    cases.c.file_date,
    cases.c.judgment_type,
    cases.c.law_day,
    cases.c.sale_date,
    cases.c.is_active,
    cases.c.disposition,
    cases.c.listed,
)


def _choice(values) -> str:
    return " | ".join(values)


@pydantic_dataclass(config=ConfigDict(extra="ignore"))
class CaseFilter:
    """What the user asked for: search text, filters, sort and page.

    Read from query arguments by :func:`webui.params.parse` (``from_args``): a value
    that makes no sense is a :class:`~webui.params.BadParameter`, never ignored.
    """

    q: Text = Field("", description=params.TEXT_TEXT)
    town: Town = Field("", description="a Connecticut town (any spelling)")
    county: County = Field("", description="a Connecticut county")
    status: Literal[STATUSES] = Field("all", description=_choice(STATUSES))
    judgment_type: Literal[JUDGMENT_TYPES] | Literal[""] = Field(
        "", description=_choice(JUDGMENT_TYPES)
    )
    filed_from: Day = Field(None, description="a date, YYYY-MM-DD")
    filed_to: Day = Field(None, description="a date, YYYY-MM-DD")
    has_phones: Flag = Field(False, description=params.FLAG_TEXT)
    skip_traced: Flag = Field(False, description=params.FLAG_TEXT)
    lead_status: text(40) = Field("", description="a lead status name")
    assignee: text(254) = Field(
        "", description="a staff email, me (yourself) or none (unassigned)"
    )
    tag: text(40) = Field("", description="a lead tag")
    follow_up_by: Day = Field(None, description="a date, YYYY-MM-DD")
    priority: Literal["", "hot", "warm", "cold"] = Field(
        "", description="hot | warm | cold"
    )
    quality: Literal[QUALITY_FLAGS] | Literal[""] = Field(
        "", description=_choice(QUALITY_FLAGS)
    )
    missed: MissedCrawls = Field(3, description=MISSED_TEXT)
    sort: Literal[tuple(SORTS)] = Field("file_date", description=_choice(SORTS))
    order: Literal["asc", "desc"] = Field("desc", description="asc | desc")
    page: Page = Field(1, description=params.PAGE_TEXT)
    per_page: PerPage = Field(50, description=params.PER_PAGE_TEXT)

    @classmethod
    def from_args(cls, args, me: str | None = None) -> CaseFilter:
        """Read query arguments; raise :class:`~webui.params.BadParameter` naming the
        first that makes no sense. ``assignee=me`` means ``me`` (the asker's
        email)."""
        flt = params.parse(cls, args)
        if flt.assignee.lower() == "me":
            if not me:
                raise params.BadParameter("assignee", "a staff email or none")
            flt.assignee = me
        return flt

    @classmethod
    def echo(cls, args) -> CaseFilter:
        """Return defaults holding the typed text (to show a refused form again)."""
        flt = cls()
        for name in ("q", "town", "county", "filed_from", "filed_to", "tag"):
            setattr(flt, name, (args.get(name) or "").replace("\x00", ""))
        return flt

    def as_args(self) -> dict[str, str]:
        """Return the non-default values as query arguments (for audit and links)."""
        return params.changed_args(self)

    def search_problem(self) -> str | None:
        """Why the search text cannot be searched for, or None."""
        too_short = 0 < len(self.q) < MIN_SEARCH_CHARS
        return SEARCH_TOO_SHORT if too_short and not dockets.is_valid(self.q) else None

    def shape(self) -> Shape:
        """What decides the form of the SQL, not its values (statements are cached
        by it)."""
        docket = bool(self.q) and dockets.is_valid(self.q)
        return Shape(
            q="docket" if docket else "text" if self.q else "",
            town=bool(self.town),
            county=bool(self.county),
            status=self.status,
            judgment_type=bool(self.judgment_type),
            filed_from=self.filed_from is not None,
            filed_to=self.filed_to is not None,
            skip_traced=self.skip_traced,
            has_phones=self.has_phones,
            # "named", or "or_untouched" when it is the first status
            # (list_cases decides: it reads the status list)
            lead_status="named" if self.lead_status else "",
            assignee="none" if self.assignee == "none" else bool(self.assignee),
            tag=bool(self.tag),
            follow_up_by=self.follow_up_by is not None,
            priority=bool(self.priority),
            quality=self.quality,
            sort=self.sort,
            order=self.order,
        )

    def params(self) -> dict:
        """The values of the statements' parameters."""
        docket = bool(self.q) and dockets.is_valid(self.q)
        return {
            "docket": dockets.compact(self.q) if docket else None,
            "pattern": like_pattern(self.q),
            "town": self.town,
            "county": self.county,
            "judgment_type": self.judgment_type,
            "filed_from": self.filed_from,
            "filed_to": self.filed_to,
            "lead_status": self.lead_status.lower(),
            "assignee": self.assignee.lower(),
            "tag": self.tag.lower(),
            "follow_up_by": self.follow_up_by,
            "priority_rank": PRIORITY_RANKS.get(self.priority, 0),
            **priority_dates(court_today()),
            "limit": self.per_page,
            "offset": (self.page - 1) * self.per_page,
        }


class Shape(NamedTuple):
    """A :class:`CaseFilter` without its values: which filters, which sort."""

    q: str  # "", "docket" or "text"
    town: bool
    county: bool
    status: str
    judgment_type: bool
    filed_from: bool
    filed_to: bool
    skip_traced: bool
    has_phones: bool
    lead_status: str  # "", "named" or "or_untouched" (the first status: New)
    assignee: bool | str  # False, True (an email) or "none"
    tag: bool
    follow_up_by: bool
    priority: bool
    quality: str  # "" or a report flag
    sort: str
    order: str


def _conditions(shape: Shape) -> list:
    """Return the WHERE conditions of ``shape``, its values as named parameters
    (:meth:`CaseFilter.params`). A text search is not among them: its matches are
    found by :func:`_text_search_statements`."""
    where = []
    if shape.q == "docket":
        where.append(cases.c.docket_no == sa.bindparam("docket"))
    # exact matches on canonical names, so the (town|county, file_date) indexes work
    if shape.town:
        where.append(cases.c.search_town == sa.bindparam("town"))
    if shape.county:
        where.append(cases.c.county == sa.bindparam("county"))
    if shape.status == "active":
        where.append(cases.c.is_active.is_(True))
    elif shape.status == "disposed":
        where.append(cases.c.is_active.is_(False))
    if shape.judgment_type:
        where.append(cases.c.judgment_type == sa.bindparam("judgment_type"))
    if shape.filed_from:
        where.append(cases.c.file_date >= sa.bindparam("filed_from", type_=sa.Date))
    if shape.filed_to:
        where.append(cases.c.file_date <= sa.bindparam("filed_to", type_=sa.Date))
    if shape.skip_traced:
        where.append(_traced_exists())
    if shape.has_phones:
        # kept by the skip-trace store and purge (migration 0005)
        where.append(cases.c.has_phones.is_(True))
    if shape.quality:
        where.append(quality.condition(shape.quality))
    return where + _lead_conditions(shape)


def _leads_where(*conditions):
    """Cases whose lead matches (a small table: an IN over its dockets)."""
    return cases.c.docket_no.in_(sa.select(leads.c.docket_no).where(*conditions))


def _lead_conditions(shape: Shape) -> list:
    """The lead filters (migration 0015): status, assignee, tag, follow-up. An
    untouched case has the first status (New) and no assignee."""
    where = []
    if shape.lead_status:
        status = sa.func.lower(lead_statuses.c.name) == sa.bindparam("lead_status")
        named = sa.select(lead_statuses.c.id).where(status).scalar_subquery()
        condition = _leads_where(leads.c.status_id == named)
        if shape.lead_status == "or_untouched":
            untouched = cases.c.docket_no.not_in(sa.select(leads.c.docket_no))
            condition = sa.or_(condition, untouched)
        where.append(condition)
    if shape.assignee == "none":
        where.append(~_leads_where(leads.c.assignee_id.is_not(None)))
    elif shape.assignee:
        staff = sa.select(users.c.id).where(users.c.email == sa.bindparam("assignee"))
        where.append(_leads_where(leads.c.assignee_id == staff.scalar_subquery()))
    if shape.tag:
        tagged = sa.select(lead_tags.c.docket_no).where(
            lead_tags.c.tag == sa.bindparam("tag")
        )
        where.append(cases.c.docket_no.in_(tagged))
    if shape.priority:
        where.append(priority_rank() == sa.bindparam("priority_rank"))
    if shape.follow_up_by:
        where.append(
            _leads_where(
                leads.c.follow_up <= sa.bindparam("follow_up_by", type_=sa.Date)
            )
        )
    return where


def like_pattern(text: str) -> str:
    """Return a LIKE pattern matching ``text`` anywhere, wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _text_matches():
    """The cases whose name, streets or parties' names contain the search text: one
    trigram index over each case's upper-cased search text (migration 0011)."""
    return cases.c.search_text.like(sa.func.upper(sa.bindparam("pattern")), escape="\\")


def _traced_exists():
    return (
        sa.select(skiptrace_results.c.id)
        .join(parties, parties.c.id == skiptrace_results.c.party_id)
        .where(parties.c.docket_no == cases.c.docket_no)
        .exists()
    )


def priority_dates(today: date) -> dict:
    """The dates the priority rule compares with, as statement parameters."""
    return {
        "today": today,
        "hot_until": today + timedelta(days=lead_signals.HOT_DAYS),
        "warm_until": today + timedelta(days=lead_signals.WARM_DAYS),
    }


def priority_rank():
    """A case's priority (3 hot, 2 warm, 1 cold) by the rule the case page prints
    (:data:`ctforeclosure.services.lead_signals.RULES`), against the ``today``
    parameter: computed when read, never stored."""
    today = sa.bindparam("today", type_=sa.Date)
    sale_day = effective_sale_date()

    def within(until: str):
        end = sa.bindparam(until, type_=sa.Date)
        return sa.or_(cases.c.law_day.between(today, end), sale_day.between(today, end))

    appeared = (
        sa.select(parties.c.id)
        .where(
            parties.c.docket_no == cases.c.docket_no,
            parties.c.role == "D",
            parties.c.removed_at.is_(None),
            parties.c.non_appearing.is_(False),
        )
        .exists()
    )
    no_dates = sa.and_(
        sa.or_(cases.c.law_day.is_(None), cases.c.law_day < today),
        sa.or_(sale_day.is_(None), sale_day < today),
    )
    return sa.case(
        (cases.c.is_active.is_(False), 1),
        (sa.and_(within("hot_until"), appeared), 3),
        (sa.and_(cases.c.judgment_type.is_not(None), no_dates), 3),
        (within("warm_until"), 2),
        else_=1,
    )


def follow_up_of():
    """A case's lead's follow-up date (none for cases no one worked on)."""
    return (
        sa.select(leads.c.follow_up)
        .where(leads.c.docket_no == cases.c.docket_no)
        .scalar_subquery()
    )


#: Sorts by a computed value, each labelled by its name in a narrow selection.
COMPUTED_SORTS = {"priority": priority_rank, "follow_up": follow_up_of}


def _sort_column(shape: Shape, source):
    computed = COMPUTED_SORTS.get(shape.sort)
    if computed is None:
        return source.c[SORTS[shape.sort].name]
    return computed() if source is cases else source.c[shape.sort]


def _ordered(stmt, shape: Shape, source=cases):
    """Order by the chosen column (nulls last), then docket; ``source`` is the
    cases table or a selection of its columns."""
    column = _sort_column(shape, source)
    primary = column.asc() if shape.order == "asc" else column.desc()
    return stmt.order_by(primary.nulls_last(), source.c.docket_no)


_LIMIT = sa.bindparam("limit", type_=sa.Integer)
_OFFSET = sa.bindparam("offset", type_=sa.Integer)


class _Statements(NamedTuple):
    """The statements of one list shape."""

    page: sa.Select  # a page, each row with the number of matches (``_matches``)
    count: sa.Select  # the number of matches, up to the cap
    keys: sa.Select | None = None  # skip-traced list: the matches' keys, up to cap
    page_of_keys: sa.Select | None = None  # skip-traced: the rows of those keys


@functools.lru_cache(maxsize=512)
def _list_statements(shape: Shape) -> _Statements:
    """Build the statements of a list shape once: building them per request cost
    about as much CPU as PostgreSQL spent answering them."""
    if shape.q == "text":
        return _text_search_statements(shape)
    where = _conditions(shape)
    capped = sa.select(cases.c.docket_no).where(*where).limit(COUNT_CAP + 1).subquery()
    count = sa.select(sa.func.count()).select_from(capped)
    statements = _Statements(
        count=count,
        # counted in the same statement, as a text search is: one round trip a page
        page=_ordered(
            sa.select(*LIST_COLUMNS, count.scalar_subquery().label("_matches")).where(
                *where
            ),
            shape,
        )
        .limit(_LIMIT)
        .offset(_OFFSET),
    )
    if shape.skip_traced:
        statements = statements._replace(
            keys=_ordered(sa.select(cases.c.docket_no).where(*where), shape).limit(
                COUNT_CAP + 1
            ),
            page_of_keys=_ordered(
                sa.select(*LIST_COLUMNS).where(
                    cases.c.docket_no.in_(sa.bindparam("keys", expanding=True))
                ),
                shape,
            ),
        )
    return statements


def _shape(conn: sa.Connection, flt: CaseFilter) -> Shape:
    """Return the filter's shape; a lead status filter naming the first status
    (New) also matches the cases no one has worked on (they have no lead row)."""
    shape = flt.shape()
    if shape.lead_status:
        first = conn.execute(
            sa.select(lead_statuses.c.name).order_by(lead_statuses.c.position).limit(1)
        ).scalar()
        if (first or "").lower() == flt.lead_status.lower():
            shape = shape._replace(lead_status="or_untouched")
    return shape


def _values(conn: sa.Connection, flt: CaseFilter) -> dict:
    """The statements' parameters; ``quality=not_seen`` adds the dockets its
    town's crawls missed (worked out from the crawl runs, not one SQL test)."""
    values = flt.params()
    if flt.quality == "not_seen":
        unseen = quality.unseen_dockets(conn, flt.missed)
        values["unseen"] = [docket for docket, _ in unseen]
    return values


def list_cases(conn: sa.Connection, flt: CaseFilter) -> tuple[list, int, bool]:
    """Return one page of matching cases, the number of matches and whether that
    number is only a lower bound (counting stops at :data:`COUNT_CAP`)."""
    if problem := flt.search_problem():
        raise ValueError(problem)  # callers show it first (a page, a 400)
    shape, params = _shape(conn, flt), _values(conn, flt)
    statements = _list_statements(shape)
    if statements.keys is not None:  # skip-traced, no search text
        # An EXISTS through parties and results per case is the costly part: walk the
        # matches once, in the shown order, up to the cap, then read the page by key
        # (a count and a page query would each run it).
        keys = conn.execute(statements.keys, params).scalars().all()
        start = params["offset"]
        if start + flt.per_page <= len(keys) or len(keys) <= COUNT_CAP:
            page_keys = keys[start : start + flt.per_page]
            rows = (
                conn.execute(statements.page_of_keys, {"keys": page_keys}).all()
                if page_keys
                else []
            )
            total = len(keys)
            return rows, min(total, COUNT_CAP), total > COUNT_CAP
    # The page and the number of matches in one statement (each row carries it).
    rows = conn.execute(statements.page, params).all()
    if rows:
        total = rows[0]._matches
    else:  # past the last page
        total = conn.execute(statements.count, params).scalar_one()
    return rows, min(total, COUNT_CAP), total > COUNT_CAP


def _text_search_statements(shape: Shape) -> _Statements:
    """One page of a text search, its matches counted in the same pass.

    The matches are found first, on their own (MATERIALIZED): left to plan the search
    with the ORDER BY ... LIMIT, PostgreSQL walked every case in the shown order
    testing each, far slower than finding the matches first. They are found narrow
    (docket and sort column) by the search text's trigram index (migration 0011),
    with any filter; only the page's rows are then read whole. One upper-cased
    search text per case is searched, not four columns in two tables, which made
    the commonest surnames faster still (BENCHMARKS.md, web UI, sixth pass).
    """
    sort_column = SORTS[shape.sort]
    narrow = [cases.c.docket_no]
    if shape.sort in COMPUTED_SORTS:
        narrow.append(COMPUTED_SORTS[shape.sort]().label(shape.sort))
    elif sort_column is not cases.c.docket_no:
        narrow.append(sort_column)
    matches = (
        sa.select(*narrow)
        .where(_text_matches(), *_conditions(shape))
        .cte("matches")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    # Counted by a subquery over the matches, not ``count(*) OVER ()``: the window
    # held every match before the sort could start, which made searches slower.
    counted = sa.select(sa.func.count()).select_from(matches).scalar_subquery()
    page = (
        _ordered(
            sa.select(matches.c.docket_no, counted.label("_matches")),
            shape,
            matches,
        )
        .limit(_LIMIT)
        .offset(_OFFSET)
        .subquery("page")
    )
    return _Statements(
        page=_ordered(
            sa.select(*LIST_COLUMNS, page.c._matches).join_from(
                page, cases, cases.c.docket_no == page.c.docket_no
            ),
            shape,
        ),
        count=sa.select(sa.func.count()).select_from(
            sa.select(matches.c.docket_no).limit(COUNT_CAP + 1).subquery()
        ),
    )


def matching_dockets(conn: sa.Connection, flt: CaseFilter) -> tuple[sa.Select, dict]:
    """Return a statement selecting the dockets of the cases ``flt`` matches (for an
    ``IN``) and its bound values: the cases a saved search watches."""
    if problem := flt.search_problem():
        raise ValueError(problem)
    return _matching_statement(_shape(conn, flt)), _values(conn, flt)


@functools.lru_cache(maxsize=512)
def _matching_statement(shape: Shape) -> sa.Select:
    """Build a shape's matching statement once: the notify matcher asks for a
    thousand saved searches' at a time, and searches of one shape share it."""
    return sa.select(cases.c.docket_no).where(*_matches(shape))


def iter_cases(conn: sa.Connection, flt: CaseFilter, limit: int):
    """Return every matching case (for exports), up to ``limit`` rows: the list's
    own first page, ``limit`` long."""
    if problem := flt.search_problem():
        raise ValueError(problem)  # callers show it first
    statements = _list_statements(_shape(conn, flt))
    params = {**_values(conn, flt), "limit": limit, "offset": 0}
    return conn.execute(statements.page, params).all()


def _matches(shape: Shape) -> list:
    """Every condition a case must meet, without the list page's LIMIT: a text
    search's through the search text's trigram index."""
    where = _conditions(shape)
    if shape.q == "text":
        where.append(_text_matches())
    return where


class _Export(NamedTuple):
    """The statements of an export of one list shape."""

    rows: sa.Select  # every match, in the list's order
    count: sa.Select  # the number of matches, not capped


@functools.lru_cache(maxsize=128)
def _export_statements(shape: Shape) -> _Export:
    """Every match of a list shape, in its order, without a page's LIMIT: the
    search text's trigram index finds a text search's matches, then they are
    sorted (no LIMIT for the planner to walk the shown order for)."""
    where = _matches(shape)
    return _Export(
        rows=_ordered(sa.select(*LIST_COLUMNS).where(*where), shape),
        count=sa.select(sa.func.count()).select_from(cases).where(*where),
    )


def stream_cases(conn: sa.Connection, flt: CaseFilter, chunk: int) -> sa.CursorResult:
    """Return every matching case from a server-side cursor (exports): read with
    ``.partitions()``, ``chunk`` rows at a time, so memory holds one chunk."""
    if problem := flt.search_problem():
        raise ValueError(problem)  # callers show it first
    # on this statement only: Connection.execution_options() would set them on the
    # connection, and the chunks' child queries would each open a cursor too
    return conn.execute(
        _export_statements(_shape(conn, flt)).rows,
        _values(conn, flt),
        execution_options={"stream_results": True, "yield_per": chunk},
    )


def count_cases(conn: sa.Connection, flt: CaseFilter) -> int:
    """Return how many cases match, however many (an export's maximum)."""
    statement = _export_statements(_shape(conn, flt)).count
    return conn.execute(statement, _values(conn, flt)).scalar()


# The case page's statements, built once: building them per request cost more CPU
# than PostgreSQL spent answering them (the page is half of all requests).
_DOCKET = sa.bindparam("docket_no")
#: A case's own columns; its search text is the search's, not the case's story.
_CASE = sa.select(*(c for c in cases.c if c is not cases.c.search_text)).where(
    cases.c.docket_no == _DOCKET
)
_TRACED = (
    sa.select(skiptrace_results.c.id)
    .where(skiptrace_results.c.party_id == parties.c.id)
    .exists()
    .label("traced")
)
_PARTIES_OF_CASE = (
    sa.select(parties, _TRACED)
    .where(parties.c.docket_no == _DOCKET)
    .order_by(parties.c.party_no)
)
_ENTRIES = (
    sa.select(docket_entries)
    .where(docket_entries.c.docket_no == _DOCKET)
    .order_by(docket_entries.c.seq)
)
_COURT_DATES = (
    sa.select(court_dates)
    .where(court_dates.c.docket_no == _DOCKET)
    .order_by(court_dates.c.court_date.desc().nulls_last())
)
_CHANGES = (
    sa.select(*SHOWN_COLUMNS)
    .where(case_changes.c.docket_no == _DOCKET)
    .order_by(case_changes.c.seen_at.desc(), case_changes.c.id.desc())
    .limit(200)
)


def existing(conn: sa.Connection, docket_nos) -> list[str]:
    """Return those of these (compact) dockets that are stored cases, in order."""
    wanted = [dockets.compact(d) for d in docket_nos]
    if not wanted:
        return []
    found = set(
        conn.execute(
            sa.select(cases.c.docket_no).where(cases.c.docket_no.in_(wanted))
        ).scalars()
    )
    return [d for d in dict.fromkeys(wanted) if d in found]


def get_case(conn: sa.Connection, docket_no: str):
    return conn.execute(_CASE, {"docket_no": docket_no}).first()


def case_parties(conn: sa.Connection, docket_nos, *, traced: bool = False) -> list:
    """Return the cases' parties; with ``traced``, each row also says whether the
    party has skip-trace results (so a page asks for them only when there are)."""
    columns = [parties]
    if traced:
        columns.append(_TRACED)
    return conn.execute(
        sa.select(*columns)
        .where(parties.c.docket_no.in_(list(docket_nos)))
        .order_by(parties.c.docket_no, parties.c.party_no)
    ).all()


def case_story(conn: sa.Connection, docket_no: str, *, traced: bool = False) -> dict:
    """Return the children of one case: parties, entries, dates, changes."""
    key = {"docket_no": docket_no}
    return {
        "parties": (
            conn.execute(_PARTIES_OF_CASE, key).all()
            if traced
            else case_parties(conn, [docket_no])
        ),
        "entries": conn.execute(_ENTRIES, key).all(),
        "court_dates": conn.execute(_COURT_DATES, key).all(),
        "changes": conn.execute(_CHANGES, key).all(),
    }


@dataclass
class TraceResult:
    """One skip-trace result with its phones and emails."""

    id: int
    party_id: int
    status: str
    sandbox: bool
    fetched_at: object
    mailing_address: object
    phones: list
    emails: list
    #: the dedupe key of the person traced (the do-not-contact list's person key)
    person_key: str | None = None
    #: BatchData's person summaries (its litigator flag)
    persons: list | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def skiptrace_by_party(
    conn: sa.Connection, party_ids, *, include_sandbox: bool = True
) -> dict[int, list[TraceResult]]:
    """Return skip-trace results (newest first) keyed by party id."""
    party_ids = list(party_ids)
    if not party_ids:
        return {}
    stmt = (
        sa.select(skiptrace_results)
        .where(skiptrace_results.c.party_id.in_(party_ids))
        .order_by(skiptrace_results.c.fetched_at.desc())
    )
    if not include_sandbox:
        stmt = stmt.where(skiptrace_results.c.sandbox.is_(False))
    results = conn.execute(stmt).all()
    ids = [r.id for r in results]
    phones: dict[int, list] = {}
    emails: dict[int, list] = {}
    if ids:
        for p in conn.execute(
            sa.select(skiptrace_phones)
            .where(skiptrace_phones.c.result_id.in_(ids))
            .order_by(skiptrace_phones.c.rank.nulls_last(), skiptrace_phones.c.id)
        ):
            phones.setdefault(p.result_id, []).append(p)
        for e in conn.execute(
            sa.select(skiptrace_emails)
            .where(skiptrace_emails.c.result_id.in_(ids))
            .order_by(skiptrace_emails.c.rank.nulls_last(), skiptrace_emails.c.id)
        ):
            emails.setdefault(e.result_id, []).append(e)
    out: dict[int, list[TraceResult]] = {}
    for r in results:
        out.setdefault(r.party_id, []).append(
            TraceResult(
                id=r.id,
                party_id=r.party_id,
                status=r.status,
                sandbox=r.sandbox,
                fetched_at=r.fetched_at,
                mailing_address=r.mailing_address,
                phones=phones.get(r.id, []),
                emails=emails.get(r.id, []),
                person_key=r.person_key,
                persons=r.persons,
            )
        )
    return out
