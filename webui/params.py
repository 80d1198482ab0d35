"""One validation layer for every request parameter, shared by the pages and the API.

A bad value is a :class:`BadParameter` naming the parameter and what it accepts; the
API answers it with a JSON 400, a page re-shows itself with the message (status
400). Nothing is ignored or clamped: a filter that cannot be read used to be dropped
without a word, which widened the query (an export of every case).

The rules are pydantic models (pydantic: declared types, bounds and enums, and errors
that say where), not checks written out per view. Each field's description is the
text the user sees when the value is refused, and what the OpenAPI description says.

Empty values count as not given (a form's "Any" option sends ``town=``). NUL bytes
are refused everywhere: PostgreSQL can neither store nor compare them
(:func:`refuse_nul` guards every path, query and form value before any view runs).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from flask import Flask, jsonify, render_template, request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from werkzeug.routing import IntegerConverter

from ctforeclosure import dockets
from ctforeclosure import towns as ct_towns

#: Ids are INTEGER columns (ctforeclosure/db.py): 32-bit signed.
MAX_ID = 2**31 - 1
#: The deepest page: offsets stay small numbers (200 rows * 10,000 pages).
MAX_PAGE = 10_000
MAX_PER_PAGE = 200
MAX_TEXT = 200
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
FLAG_TRUE = frozenset({"1", "true", "yes", "on"})
FLAG_FALSE = frozenset({"0", "false", "no", "off"})
FLAG_TEXT = "1, true, yes or on; 0, false, no, off or empty"
TEXT_TEXT = f"text of at most {MAX_TEXT} characters"
PAGE_TEXT = f"a whole number from 1 to {MAX_PAGE}"
PER_PAGE_TEXT = f"a whole number from 1 to {MAX_PER_PAGE}"


class BadParameter(ValueError):
    """A parameter's value cannot be used: its name, what it accepts, and why."""

    def __init__(self, name: str, accepts: str, reason: str = "", suggestions=()):
        self.name = name
        self.accepts = accepts
        self.suggestions = list(suggestions)
        super().__init__(f"{name}: {reason}" if reason else f"{name} must be {accepts}")

    def as_json(self) -> dict:
        """The API's error body."""
        return {"error": str(self), "parameter": self.name, "accepts": self.accepts}


class _Refused(ValueError):
    """A validator's refusal whose text says more than the field's description."""

    def __init__(self, text: str, suggestions=()) -> None:
        self.suggestions = list(suggestions)
        super().__init__(text)


#: For validators in other modules: a refusal whose text the 400 carries.
Refused = _Refused


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise _Refused("NUL bytes are not allowed")
    return value


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in FLAG_TRUE or text in FLAG_FALSE:
        return text in FLAG_TRUE
    raise ValueError("not a flag")


def _day(value: Any) -> date:
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not _DAY_RE.fullmatch(text):
        raise ValueError("not YYYY-MM-DD")
    return date.fromisoformat(text)  # a ValueError for 2026-13-01


def _town(value: str) -> str:
    try:
        return ct_towns.canonical(value).name
    except ct_towns.UnknownTown as exc:
        raise _Refused(str(exc), exc.suggestions) from None


def _county(value: str) -> str:
    try:
        return ct_towns.canonical_county(value)
    except ct_towns.UnknownCounty as exc:
        raise _Refused(str(exc)) from None


def text(max_length: int = MAX_TEXT):
    """Return the type of a free text parameter: trimmed, bounded, no NUL."""
    return Annotated[
        str,
        Field(max_length=max_length),
        BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v),
        AfterValidator(_no_nul),
    ]


Text = text()
Flag = Annotated[bool, BeforeValidator(_flag)]
Day = Annotated[date | None, BeforeValidator(_day)]
Town = Annotated[text(64), AfterValidator(_town)]
County = Annotated[text(32), AfterValidator(_county)]
Page = Annotated[int, Field(ge=1, le=MAX_PAGE)]
PerPage = Annotated[int, Field(ge=1, le=MAX_PER_PAGE)]


def changed_args(value) -> dict:
    """Return a filter dataclass's non-default values as query arguments (dates as
    ISO text): what audit records and shareable links carry."""
    default = type(value)()
    out = {}
    for name in value.__dataclass_fields__:
        given = getattr(value, name)
        if given != getattr(default, name):
            out[name] = given.isoformat() if isinstance(given, date) else given
    return out


class QueryArgs(BaseModel):
    """Base of the query-argument models: other arguments are someone else's."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class JsonBody(BaseModel):
    """Base of the JSON-body models: an unknown key is a typo, refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PageArgs(QueryArgs):
    page: Page = Field(1, description=PAGE_TEXT)
    per_page: PerPage = Field(50, description=PER_PAGE_TEXT)


class SearchArgs(PageArgs):
    q: Text = Field("", description=TEXT_TEXT)


class AuditArgs(QueryArgs):
    action: text(64) = Field("", description="an action name of at most 64 characters")


def _docket(value: str) -> str:
    try:
        return dockets.compact(value)
    except dockets.InvalidDocket as exc:
        raise _Refused(str(exc)) from None


Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Dockets = Annotated[
    list[Annotated[StrictStr, AfterValidator(_no_nul), AfterValidator(_docket)]],
    Field(max_length=5000),
]


@functools.cache
def _adapter(model: type) -> TypeAdapter:
    return TypeAdapter(model)


def parse(model: type, data: Mapping):
    """Return ``data`` read by ``model``; raise :class:`BadParameter` if it can't be.

    ``model`` is a pydantic model or dataclass. ``data`` is query arguments (the
    first value of each; empty means not given) or a JSON body (anything: a list or
    a string is refused as the body).
    """
    if hasattr(data, "to_dict"):  # a MultiDict: the first value of each
        data = {k: v for k, v in data.to_dict(flat=True).items() if v != ""}
    try:
        return _adapter(model).validate_python(data)
    except ValidationError as exc:
        raise _bad(model, exc.errors()[0]) from None


def _bad(model: type, problem: dict) -> BadParameter:
    """Return the refusal of one pydantic error: its field, and what it accepts."""
    if not problem["loc"]:
        return BadParameter("body", "a JSON object")
    name = str(problem["loc"][0])
    fields = model.__pydantic_fields__  # a model's or a pydantic dataclass's
    field = fields.get(name)
    accepts = field.description if field and field.description else problem["msg"]
    cause = (problem.get("ctx") or {}).get("error")
    if isinstance(cause, _Refused):
        return BadParameter(name, accepts, str(cause), cause.suggestions)
    if field is None:  # an unknown key in a JSON body
        return BadParameter(name, "one of: " + ", ".join(fields), "not a known key")
    return BadParameter(name, accepts)


def json_body(model: type[BaseModel]):
    """Return the request's JSON body read by ``model`` (an empty body is ``{}``)."""
    if not request.get_data(cache=True):
        return parse(model, {})
    body = request.get_json(silent=True)
    if body is None:
        raise BadParameter("body", "a JSON object (Content-Type: application/json)")
    return parse(model, body)


class IntegerIdConverter(IntegerConverter):
    """``<int:...>`` in every URL: an id of an INTEGER column, ASCII digits up to
    :data:`MAX_ID`. Another value matches no route (404: that id cannot exist),
    where it reached the database before (a 500 on PostgreSQL above 2**31, on
    SQLite above 2**63)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def refuse_nul():
    """Answer 400 to a NUL byte in any path, query or form value, before any view."""
    sources = (
        request.view_args or {},
        request.args,
        request.form if request.method == "POST" else {},
    )
    for values in sources:
        multi = hasattr(values, "getlist")
        for name, value in values.items(multi=True) if multi else values.items():
            if isinstance(value, str) and ("\x00" in value or "\x00" in name):
                return answer(BadParameter(name, "text", "NUL bytes are not allowed"))
    return None


def answer(exc: BadParameter):
    """Return the 400 for a refused parameter: JSON for the API, else a page."""
    if request.path.startswith("/api/"):
        return jsonify(exc.as_json()), 400
    return render_template("bad_parameter.html", problem=exc), 400


def init_app(app: Flask) -> None:
    """Bound ids in URLs (before any blueprint adds a rule), guard NUL bytes, and
    answer a :class:`BadParameter` no view caught."""
    app.url_map.converters["int"] = IntegerIdConverter
    app.before_request(refuse_nul)
    app.register_error_handler(BadParameter, answer)
