"""The civilinquiry.jud.ct.gov pages: search, results, paging, LoadDocket, case pages.

Request flow, as on the real site (docs/SITES.md §1-§3):

1. GET ``PropertyAddressSearch.aspx`` → the form, hidden fields, a NoBot challenge
   "~N" and the ``ASP.NET_SessionId`` cookie.
2. POST it back (≥2 s later, answer -(N+1)) → "Property Address Search Results",
   page 1, form action ``PropertyAddressSearchResults.aspx``.
3. POST ``PropertyAddressSearchResults.aspx`` with ``__EVENTTARGET`` = the grid and
   ``__EVENTARGUMENT`` = ``Page$N`` plus that page's hidden fields → page N.
4. GET ``LoadDocket.aspx?DocketNo=<dashed>`` → 302 to
   ``CaseDetail/PublicCaseDetail.aspx?DocketNo=<compact>`` (the session must exist).

Responses to broken requests are guesses, each an ``UNVERIFIED (docs/SITES.md §9)``
constant.
"""

from __future__ import annotations

import random
from datetime import datetime
from urllib.parse import quote

from flask import Blueprint, Response, current_app, make_response, redirect, request

from ctforeclosure import dockets

from . import aspnet, capture, faults
from .aspnet import SESSION_COOKIE, BadEventValidation, BadViewState
from .case_page import case_content
from .html import TEMPLATES, e, fill
from .results_page import (
    CASE_STATUS_FIELD,
    CASE_STATUS_OPTIONS,
    CASE_TYPE_FIELD,
    CASE_TYPE_OPTIONS,
    CHANGED_GRID_ID,
    GRID_ID,
    GRID_NAME,
    MIN_TOWN_LENGTH,
    PAGE_SIZE,
    PROPERTY_TYPE_FIELD,
    PROPERTY_TYPE_OPTIONS,
    STREET_FIELD,
    SUBMIT_FIELD,
    TOWN_FIELD,
    TOWN_TOO_SHORT_MESSAGE,
    ZIP_FIELD,
    label_of,
    option_values,
    pager_arguments,
    results_content,
    search_form,
)

#: __VIEWSTATEGENERATOR per page. Results and case page [CAPTURE]; the others are
#: UNVERIFIED (docs/SITES.md §9).
GENERATOR_SEARCH = "3D6B4A2F"
GENERATOR_RESULTS = "E8A7F0DB"
GENERATOR_CASE = "69383C4F"
GENERATOR_ERROR = "B8C4A1E0"
TOOLKIT_HIDDEN = (
    ";;AjaxControlToolkit, Version=3.5.7.607, Culture=neutral, "
    "PublicKeyToken=28f01b0e84b6d53e:en-US:e96eec5b-f5fc-47c8-9cba-2a4f2f4c43f0:"
    "effe2a26:e00da949"
)  # [CAPTURE]
TSM_COMBINED = "replica"  # the real value is a long opaque list of script ids

#: Where a tampered/missing view state or event validation goes: ASP.NET's
#: customErrors redirect. UNVERIFIED (docs/SITES.md §9).
BAD_POSTBACK_REDIRECT = "ErrorPage.aspx?aspxerrorpath=/{page}"
#: Case page without a session: [CODE] juriscraper notes say ErrorPage.aspx?emLID=...;
#: the emLID value is UNVERIFIED (docs/SITES.md §9).
NO_SESSION_REDIRECT = "ErrorPage.aspx?emLID=1"
#: Unknown docket: the appellate site's behaviour [CODE]; UNVERIFIED here
#: (docs/SITES.md §9).
UNKNOWN_DOCKET_REDIRECT = "ErrorPage.aspx?errmsg=" + quote("Case Not Found")
#: Text of the error page: UNVERIFIED (docs/SITES.md §9).
ERROR_PAGE_TEXT = (
    "An error has occurred while processing your request. Please return to the "
    "previous page and try again."
)
#: A failed NoBot check re-renders the search form with a message in lblMessage.
#: Whether the real site says anything is unknown: UNVERIFIED (docs/SITES.md §9).
NOBOT_MESSAGES = {
    aspnet.NOBOT_BAD_RESPONSE: "Your request could not be validated. Please try again.",
    aspnet.NOBOT_BAD_SESSION: "Your session has expired. Please try again.",
    aspnet.NOBOT_TOO_SOON: "Your request could not be validated. Please try again.",
    aspnet.NOBOT_TOO_ACTIVE: (
        "Too many requests have been received from your address. "
        "Please wait and try again."
    ),
}
#: Challenge used by the "nobot-unknown-script" fault: valid JavaScript that a
#: browser evaluates, but not the "~N" form plain-HTTP clients know.
UNKNOWN_CHALLENGE = "(function(){{return {a}*{b}-{c};}})()"

bp = Blueprint("judiciary", __name__)


def _state():
    return current_app.extensions["replica"]


def _session():
    """Return (session, is_new) for the request's cookie, creating one if needed."""
    st = _state()
    session = st.machinery.get_session(request.cookies.get(SESSION_COOKIE))
    if session is not None and "viewstate-expiry" in st.options.faults:
        session.requests += 1
        if session.requests > st.options.session_expire_after:
            st.machinery.drop_session(session.sid)
            session = None
    if session is None:
        return st.machinery.new_session(), True
    return session, False


def _finish(body: str, session, is_new: bool, status: int = 200) -> Response:
    resp = make_response(body, status)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Cache-Control"] = "private"
    if is_new:
        resp.set_cookie(
            SESSION_COOKIE, session.sid, path="/", httponly=True, samesite="Lax"
        )
    return resp


def _challenge(session) -> tuple[str, str]:
    st = _state()
    script, key = st.machinery.issue_challenge(session, random.randrange(1000))
    if "nobot-unknown-script" in st.options.faults:
        expected = session.nobot[key][0]
        a, b = random.randint(2, 40), random.randint(2, 40)
        script = UNKNOWN_CHALLENGE.format(a=a, b=b, c=a * b - expected)
    return script, key


def _page(
    *,
    master: str,
    title: str,
    header: str,
    action: str,
    content: str,
    state: dict,
    generator: str,
    allowed: list[str],
    challenge: str,
    ballast: str = "",
    capture_html: str | None = None,
) -> str:
    machinery = _state().machinery
    viewstate = machinery.encode_viewstate(state, ballast)
    if capture_html is not None:
        return capture.with_live_fields(
            capture_html,
            viewstate=viewstate,
            validation=machinery.encode_event_validation(viewstate, allowed),
            challenge=challenge,
        )
    now = datetime.now()
    return fill(
        master,
        {
            "TITLE": title,
            "HEADER": header,
            "ACTION": action,
            "VIEWSTATE": viewstate,
            "EVENTVALIDATION": machinery.encode_event_validation(viewstate, allowed),
            "GENERATOR": generator,
            "MYIP": request.remote_addr or "127.0.0.1",
            "TSM": TSM_COMBINED,
            "ROOT": request.script_root + bp_prefix(),
            "CHALLENGE": challenge,
            "NOBOT_VALUE": "",
            "YEAR": str(now.year),
            "CREATED": f"{now.month}/{now.day}/{now.year} at {now:%-I:%M:%S %p}",
            "CONTENT": content,
        },
    )


def bp_prefix() -> str:
    """Return the URL prefix the judiciary blueprint is mounted at."""
    return _state().prefixes["judiciary"]


def _search_page(session, *, town="", message="", selected=None) -> str:
    challenge, key = _challenge(session)
    return _page(
        master="master_root.html",
        title="Property Address Search",
        header="Property Address Search",
        action="PropertyAddressSearch.aspx",
        content=search_form(town=town, message=message, selected=selected),
        state={"k": "search", "nb": key, "sid": session.sid},
        generator=GENERATOR_SEARCH,
        allowed=option_values(),
        challenge=challenge,
    )


def _results_page(session, query: dict, page: int) -> str:
    st = _state()
    rows = st.dataset.search(
        query["town"],
        foreclosure=query["ct"] == CASE_TYPE_OPTIONS[0][0],
        residential_only=query["pt"] == PROPERTY_TYPE_OPTIONS[0][0],
        active_only=query["cs"] == CASE_STATUS_OPTIONS[0][0],
    )
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    criteria = [
        ("Case Type", label_of(CASE_TYPE_OPTIONS, query["ct"])),
        ("City/Town", query["town"]),
        ("Street Address", query.get("street", "")),
        ("ZipCode", query.get("zip", "")),
        ("Property Type", label_of(PROPERTY_TYPE_OPTIONS, query["pt"])),
        ("Case Status", label_of(CASE_STATUS_OPTIONS, query["cs"])),
    ]
    grid_id = CHANGED_GRID_ID if "changed-layout" in st.options.faults else GRID_ID
    content = results_content(rows=rows, page=page, criteria=criteria, grid_id=grid_id)
    chunk = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    # The real view state carries the grid's data (~90 KB for 200 rows): ballast.
    ballast = "".join(
        f"{c.listing_town}\x1f{c.listing_street}\x1f{c.zip}\x1f{c.case_name}\x1f"
        f"{c.docket_display}\x1e"
        for c in chunk
    )
    captured = None
    if st.options.capture_mode:
        defaults = (
            CASE_TYPE_OPTIONS[0][0],
            PROPERTY_TYPE_OPTIONS[0][0],
            CASE_STATUS_OPTIONS[0][0],
        )
        captured = capture.results_capture(query["town"], query, page, defaults)
    challenge, key = _challenge(session)
    return _page(
        capture_html=captured,
        master="master_root.html",
        title="Property Address Search Results",
        header="Property Address Search Results",
        action="PropertyAddressSearchResults.aspx",
        content=content,
        state={
            "k": "results",
            "q": query,
            "pg": page,
            "n": pages,
            "nb": key,
            "sid": session.sid,
        },
        generator=GENERATOR_RESULTS,
        allowed=pager_arguments(page, pages),
        challenge=challenge,
        ballast=ballast,
    )


def _postback_state(kind: str, allowed_of) -> dict:
    """Return the posted page's state after the view state / validation checks."""
    st = _state()
    viewstate = request.form.get("__VIEWSTATE")
    state = st.machinery.decode_viewstate(viewstate)
    if state.get("k") != kind:
        raise BadViewState("view state of another page")
    st.machinery.check_event_validation(
        request.form.get("__EVENTVALIDATION"), viewstate, allowed_of(state)
    )
    return state


def _bad_postback(page: str) -> Response:
    return redirect(BAD_POSTBACK_REDIRECT.format(page=page), code=302)


def _faulted_town(state: dict) -> bool:
    """Return True for a search (or its pages) of the town "nobot-reject-town" hits."""
    town = request.form.get(TOWN_FIELD) or state.get("q", {}).get("town", "")
    return town.strip().casefold() == _state().options.fault_town.casefold()


def _nobot(session, state: dict) -> str:
    st = _state()
    if "nobot-reject" in st.options.faults:
        return aspnet.NOBOT_BAD_RESPONSE
    if "nobot-reject-some" in st.options.faults and st.refuse_some_nobot_answer():
        return aspnet.NOBOT_BAD_RESPONSE
    if "nobot-reject-town" in st.options.faults and _faulted_town(state):
        return aspnet.NOBOT_BAD_RESPONSE
    return st.machinery.check_nobot(
        session,
        state.get("nb", ""),
        request.form.get(aspnet.NOBOT_FIELD, ""),
        request.remote_addr or "?",
    )


@bp.route("/PropertyAddressSearch.aspx", methods=["GET", "POST"])
def property_address_search():
    if "_TSM_HiddenField_" in request.args:
        return toolkit_script()
    session, is_new = _session()
    if request.method == "GET":
        return _finish(_search_page(session), session, is_new)
    try:
        state = _postback_state("search", lambda s: option_values())
        selected = (
            request.form.get(CASE_TYPE_FIELD, ""),
            request.form.get(PROPERTY_TYPE_FIELD, ""),
            request.form.get(CASE_STATUS_FIELD, ""),
        )
        offered = set(option_values())
        if not set(selected) <= offered:
            raise BadEventValidation("a value the page did not offer")
    except (BadViewState, BadEventValidation):
        return _bad_postback("PropertyAddressSearch.aspx")
    town = request.form.get(TOWN_FIELD, "")
    if request.form.get(SUBMIT_FIELD) is None:
        # No button in the post: WebForms raises no Click event, so the form is
        # simply shown again. UNVERIFIED (docs/SITES.md §9); browsers send the default
        # button when Enter is pressed in the town box.
        body = _search_page(session, town=town, selected=selected)
        return _finish(body, session, is_new)
    verdict = _nobot(None if is_new else session, state)
    if verdict != aspnet.NOBOT_VALID:
        body = _search_page(
            session, town=town, message=NOBOT_MESSAGES[verdict], selected=selected
        )
        return _finish(body, session, is_new)
    if len(town.strip()) < MIN_TOWN_LENGTH:
        body = _search_page(
            session, town=town, message=TOWN_TOO_SHORT_MESSAGE, selected=selected
        )
        return _finish(body, session, is_new)
    session.warmed = True
    query = {
        "town": town,
        "street": request.form.get(STREET_FIELD, ""),
        "zip": request.form.get(ZIP_FIELD, ""),
        "ct": selected[0],
        "pt": selected[1],
        "cs": selected[2],
    }
    return _finish(_results_page(session, query, 1), session, is_new)


@bp.route("/PropertyAddressSearchResults.aspx", methods=["GET", "POST"])
def property_address_search_results():
    if request.method == "GET":
        # UNVERIFIED (docs/SITES.md §9): a bare GET presumably sends the user back to
        # the form.
        return redirect("PropertyAddressSearch.aspx", code=302)
    session, is_new = _session()
    try:
        state = _postback_state("results", lambda s: pager_arguments(s["pg"], s["n"]))
        target = request.form.get("__EVENTTARGET", "")
        argument = request.form.get("__EVENTARGUMENT", "")
        if target != GRID_NAME or argument not in pager_arguments(
            state["pg"], state["n"]
        ):
            raise BadEventValidation("postback event the page did not offer")
    except (BadViewState, BadEventValidation):
        return _bad_postback("PropertyAddressSearchResults.aspx")
    verdict = _nobot(None if is_new else session, state)
    if verdict != aspnet.NOBOT_VALID:
        body = _search_page(
            session, town=state["q"]["town"], message=NOBOT_MESSAGES[verdict]
        )
        return _finish(body, session, is_new)
    page = int(argument.split("$", 1)[1])
    return _finish(_results_page(session, state["q"], page), session, is_new)


@bp.route("/LoadDocket.aspx")
def load_docket():
    session, is_new = _session()
    st = _state()
    case = st.dataset.get(request.args.get("DocketNo", ""))
    if st.options.capture_mode and _is_case_capture(request.args.get("DocketNo", "")):
        session.warmed = True
        resp = redirect(
            f"CaseDetail/PublicCaseDetail.aspx?DocketNo={capture.CASE_CAPTURE_DOCKET}",
            code=302,
        )
    elif case is None:
        resp = redirect(UNKNOWN_DOCKET_REDIRECT, code=302)
    else:
        session.warmed = True
        session.loaded = case.docket_no
        resp = redirect(
            f"CaseDetail/PublicCaseDetail.aspx?DocketNo={case.docket_no}", code=302
        )
    if is_new:
        resp.set_cookie(
            SESSION_COOKIE, session.sid, path="/", httponly=True, samesite="Lax"
        )
    return resp


@bp.route("/CaseDetail/PublicCaseDetail.aspx", methods=["GET"])
def public_case_detail():
    if "_TSM_HiddenField_" in request.args:
        return toolkit_script()
    st = _state()
    session = st.machinery.get_session(request.cookies.get(SESSION_COOKIE))
    if session is not None and "viewstate-expiry" in st.options.faults:
        session.requests += 1
        if session.requests > st.options.session_expire_after:
            st.machinery.drop_session(session.sid)
            session = None
    if session is None or not session.warmed or _direct_refused(session, st):
        return redirect("../" + NO_SESSION_REDIRECT, code=302)
    if st.options.capture_mode and _is_case_capture(request.args.get("DocketNo", "")):
        challenge, key = _challenge(session)
        body = _page(
            capture_html=capture.capture_text(capture.CASE_CAPTURE),
            master="master_casedetail.html",
            title="",
            header="",
            action="",
            content="",
            state={"k": "case", "d": capture.CASE_CAPTURE_DOCKET, "nb": key},
            generator=GENERATOR_CASE,
            allowed=[],
            challenge=challenge,
        )
        return _finish(body, session, False)
    case = st.dataset.get(request.args.get("DocketNo", ""))
    if case is None:
        return redirect("../" + UNKNOWN_DOCKET_REDIRECT, code=302)
    if faults.case_page_fails(case.docket_no, st.options.faults):
        return Response(faults.SERVER_ERROR_PAGE, status=500, mimetype="text/html")
    detail = faults.case_detail(
        st.dataset.detail(case), case.town.name, case.docket_no, st.options.faults
    )
    challenge, key = _challenge(session)
    ballast = "".join(
        f"{d['description']}\x1f{d['result'] or ''}\x1e"
        for d in detail["docket_entries"]
    )
    body = _page(
        master="master_casedetail.html",
        title=f"Case Detail - {dockets.header_form(case.docket_no)}",
        header="",
        action=f"./PublicCaseDetail.aspx?DocketNo={case.docket_no}",
        content=case_content(case, detail),
        state={"k": "case", "d": case.docket_no, "nb": key, "sid": session.sid},
        generator=GENERATOR_CASE,
        allowed=[],
        challenge=challenge,
        ballast=ballast * 4,
    )
    return _finish(body, session, False)


def _direct_refused(session, st) -> bool:
    """Under the fault, a case page not reached through its own LoadDocket."""
    return (
        "direct-case-pages-refused" in st.options.faults
        and session.loaded != request.args.get("DocketNo", "")
    )


def _is_case_capture(docket: str) -> bool:
    return (
        dockets.is_valid(docket)
        and dockets.compact(docket) == capture.CASE_CAPTURE_DOCKET
    )


@bp.route("/ErrorPage.aspx")
def error_page():
    session, is_new = _session()
    body = _page(
        master="master_root.html",
        title="Error",
        header="Error",
        action="ErrorPage.aspx?" + request.query_string.decode("latin-1"),
        content=(
            '\n    <span id="ctl00_ContentPlaceHolder1_lblError" '
            'class="ParamTextError">'
            f"{e(request.args.get('errmsg') or ERROR_PAGE_TEXT)}</span>\n"
        ),
        state={"k": "error"},
        generator=GENERATOR_ERROR,
        allowed=[],
        challenge=_challenge(session)[0],
    )
    return _finish(body, session, is_new)


#: Stand-in for the toolkit's scripts: just enough for a real browser to run NoBot.
NOBOT_SHIM = (TEMPLATES / "nobot_shim.js").read_text(encoding="utf-8")


@bp.route("/ScriptResource.axd")
def toolkit_script():
    return Response(NOBOT_SHIM, mimetype="text/javascript")


@bp.route("/WebResource.axd")
def web_resource():
    return Response("", mimetype="text/javascript")


@bp.route("/Civil_Inquiry.css")
def stylesheet():
    return Response(
        ".ParamTextError{color:red}.grdRowAlt{background:#eee}", mimetype="text/css"
    )
