"""Evolution: change the data the way time does (--day N, POST /_replica/mutate).

A day brings new cases, a disposition, new docket entries, a new law day or sale
date, a party removed and a case withdrawn from the site; each change appends to a
case's history (its earlier entries never change), so change-history and incremental
refresh tests have something real to find. Everything is seeded: day N of seed S is
always the same.
"""

from __future__ import annotations

import random
from datetime import timedelta

from . import fakes
from .data import (
    DISPOSITIONS,
    EXTEND_SALE_RESULT,
    RESET_LAW_DAY_RESULT,
    SALE_RESULT,
    STRICT_RESULT,
    Case,
    Dataset,
    fmt,
)
from .sales_state import SALE_KINDS, apply_sale_change

KINDS = (
    "new_case",
    "disposition",
    "docket_entry",
    "law_day",
    "sale_date",
    "remove_party",
    "withdraw",
)
ROUTINE_ENTRIES = (
    ("MOTION FOR CONTINUANCE", "P", None),
    ("APPEARANCE", "D", "Appearance"),
    ("FORECLOSURE WORKSHEET", "P", None),
    ("MOTION TO SUBSTITUTE PARTY", "P", None),
    ("AFFIDAVIT OF COMPLIANCE WITH EMAP", "P", None),
)


def _active(dataset: Dataset) -> list[Case]:
    return sorted(
        (c for c in dataset.cases.values() if c.is_active), key=lambda c: c.docket_no
    )


def _next_entry_no(detail: dict) -> int:
    numbers = [
        int(float(e["entry_no"]))
        for e in detail["docket_entries"]
        if e["entry_no"] and e["entry_no"][0].isdigit()
    ]
    return max([100, *numbers]) + 1


def _append(dataset: Dataset, case: Case, description: str, by: str, **fields) -> dict:
    detail = dataset.detail(case)
    entry = {
        "entry_no": f"{_next_entry_no(detail)}.00",
        "file_date": dataset.today,
        "filed_by": by,
        "description": description,
        "add_desc": fields.get("add_desc"),
        "result": fields.get("result"),
        "notes": None,
        "arguable": fields.get("arguable", "No"),
        "document_no": str(31_000_000 + len(dataset.cases) + dataset.day * 1000),
    }
    case.extra.setdefault("entries", []).append(entry)
    dataset.forget(case)
    return entry


def _judge(rng: random.Random) -> str:
    return rng.choice(fakes.JUDGES)


def apply(dataset: Dataset, kind: str, rng: random.Random, docket: str | None = None):
    """Apply one change of ``kind``; return a report dict, or None if nothing fits."""
    today = dataset.today
    if kind == "new_case":
        case = dataset.new_recent_case(rng)
        return {"kind": kind, "docket_no": case.docket_no, "town": case.town.name}
    if docket:
        case = dataset.get(docket)
        if case is None:
            raise KeyError(f"no case {docket}")
        pool = [case]
    else:
        pool = _active(dataset)
    rng.shuffle(pool)
    for case in pool:
        detail = dataset.detail(case)
        judgment = detail["judgment_type"]
        if kind == "disposition":
            text = {"strict": DISPOSITIONS[0], "sale": DISPOSITIONS[1]}.get(
                judgment, DISPOSITIONS[2]
            )
            if text == DISPOSITIONS[2]:
                _append(dataset, case, "WITHDRAWAL OF ACTION", "P")
            case.is_active = False
            case.disposition = text
            case.disposition_date = today
            dataset.forget(case)
            return {"kind": kind, "docket_no": case.docket_no, "disposition": text}
        if kind == "docket_entry":
            description, by, add = rng.choice(ROUTINE_ENTRIES)
            _append(dataset, case, description, by, add_desc=add)
            return {
                "kind": kind,
                "docket_no": case.docket_no,
                "description": description,
            }
        if kind == "law_day" and judgment in ("strict", None):
            law_day = today + timedelta(days=rng.randint(30, 90))
            if judgment == "strict":
                _append(dataset, case, "AFFIDAVIT THAT PARTY IS IN BANKRUPTCY", "D")
                description = (
                    "MOTION TO RESET LAW DAYS AFTER FILING OF A BANKRUPTCY PETITION "
                    "(CGS 49-15)"
                )
                result = RESET_LAW_DAY_RESULT
            else:
                description, result = (
                    "MOTION FOR JUDGMENT-STRICT FORECLOSURE",
                    STRICT_RESULT,
                )
            _append(
                dataset,
                case,
                description,
                "P",
                arguable="Yes",
                result=result.format(
                    ruled=fmt(today), judge=_judge(rng), day=fmt(law_day)
                ),
            )
            case.extra.setdefault("judgment", []).append(("strict", law_day, None))
            dataset.forget(case)
            return {
                "kind": kind,
                "docket_no": case.docket_no,
                "law_day": law_day.isoformat(),
            }
        if kind == "sale_date" and judgment in ("sale", None):
            sale_date = today + timedelta(days=rng.randint(45, 120))
            if judgment == "sale":
                description = "MOTION TO OPEN JUDGMENT AND EXTEND THE SALE DATE"
                result, by = EXTEND_SALE_RESULT, "D"
            else:
                description = "MOTION FOR JUDGMENT OF FORECLOSURE BY SALE"
                result, by = SALE_RESULT, "P"
            _append(
                dataset,
                case,
                description,
                by,
                arguable="Yes",
                result=result.format(
                    ruled=fmt(today), judge=_judge(rng), day=fmt(sale_date)
                ),
            )
            case.extra.setdefault("judgment", []).append(("sale", None, sale_date))
            dataset.forget(case)
            return {
                "kind": kind,
                "docket_no": case.docket_no,
                "sale_date": sale_date.isoformat(),
            }
        if kind == "remove_party":
            removable = [p for p in detail["parties"] if p["party_no"] != "P-01"]
            removable = [p for p in removable if p["party_no"] != "D-01"]
            if removable:
                party_no = removable[-1]["party_no"]
                case.extra.setdefault("removed_parties", []).append(party_no)
                dataset.forget(case)
                return {"kind": kind, "docket_no": case.docket_no, "party_no": party_no}
        if kind == "withdraw":
            dataset.remove(case)
            return {"kind": kind, "docket_no": case.docket_no}
    return None


def per_day(dataset: Dataset) -> dict[str, int]:
    """Return how many changes of each kind one day brings (scaled to the size)."""
    small = max(1, dataset.size // 2000)
    return {
        kind: (max(1, dataset.size // 400) if kind == "new_case" else small)
        for kind in KINDS
    }


def advance(dataset: Dataset, days: int) -> list[dict]:
    """Move the data ``days`` days forward; return the changes made."""
    changes = []
    with dataset.lock:
        for _ in range(days):
            dataset.day += 1
            dataset.today += timedelta(days=1)
            rng = random.Random(f"replica-day-{dataset.seed}-{dataset.day}")
            for kind, count in per_day(dataset).items():
                for _ in range(count):
                    change = apply(dataset, kind, rng)
                    if change:
                        changes.append({"day": dataset.day, **change})
        dataset.reindex()
    return changes


def mutate(dataset: Dataset, request: dict) -> dict:
    """Apply a /_replica/mutate request; return what changed.

    ``{"days": 3}`` or ``{"day": 5}`` (advance to day 5) run whole days;
    ``{"kind": "law_day", "count": 2, "docket": "HHDCV..."}`` makes single changes.
    """
    with dataset.lock:
        if "days" in request or "day" in request:
            days = int(request.get("days", 0)) or int(request["day"]) - dataset.day
            if days < 0:
                raise ValueError("the replica cannot go back in time")
            changes = advance(dataset, days)
        else:
            kind = request.get("kind")
            if kind not in KINDS + SALE_KINDS:
                raise ValueError(f"kind must be one of {KINDS + SALE_KINDS}")
            rng = random.Random(
                f"replica-mutate-{dataset.seed}-{dataset.day}-{dataset.mutations}"
            )
            dataset.mutations += 1
            changes = []
            for _ in range(int(request.get("count", 1))):
                change = (apply_sale_change if kind in SALE_KINDS else apply)(
                    dataset, kind, rng, request.get("docket")
                )
                if change:
                    changes.append({"day": dataset.day, **change})
            dataset.reindex()
    return {"day": dataset.day, "today": dataset.today.isoformat(), "changes": changes}
