"""Generate one case page's data: parties, appearances, docket entries, court dates.

Seeded per docket (so a case page never depends on which pages were read first) and
shaped like a Connecticut foreclosure's life (docs/SITES.md §3.5): summons, complaint,
return of service, appearances, default, mediation, EMAP, worksheet, a judgment of
strict foreclosure (with a law day) or by sale (with a sale date), and sometimes a
bankruptcy that resets the law days or a motion to open that moves the sale date.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from . import fakes
from .data import (
    CASE_TYPE_CODE,
    CASE_TYPE_TEXT,
    DISPOSITIONS,
    EXTEND_SALE_RESULT,
    RESET_LAW_DAY_RESULT,
    SALE_RESULT,
    STRICT_RESULT,
    Case,
    cut,
    fmt,
)

#: Which judgment a closed case's disposition implies (None: no judgment at all).
JUDGMENT_OF = {
    DISPOSITIONS[0]: "strict",
    DISPOSITIONS[1]: "sale",
    DISPOSITIONS[2]: None,
}
RESET_AFTER_BANKRUPTCY = (
    "MOTION TO RESET LAW DAYS AFTER FILING OF A BANKRUPTCY PETITION (CGS 49-15)"
)
FOR_NOTICE_ONLY = "For Notice Only or Proposed Intervenor"  # [CAPTURE]
NOTICE_PARTIES = (
    "STATE OF CONNECTICUT DEPARTMENT OF REVENUE SERVICES",
    "CONNECTICUT DEPARTMENT OF SOCIAL SERVICES",
    "INTERNAL REVENUE SERVICE",
)


def _appearance(rng: random.Random, filed: date) -> dict:
    firm, street, city, zip_ = rng.choice(fakes.LAW_FIRMS)
    return {
        "attorney": firm,
        "juris_no": str(400000 + rng.randint(0, 99999)),
        "address": f"{street}, {city}, CT {zip_}",
        "file_date": filed,
        "efiled": True,
        "_street": street,
        "_city": city,
        "_zip": zip_,
    }


def _entry(
    no, filed, by, description, *, add=None, result=None, doc=None, arguable=None
):
    return {
        "entry_no": no,
        "file_date": filed,
        "filed_by": by,
        "description": description,
        "add_desc": add,
        "result": result,
        "notes": None,
        "arguable": arguable,
        "document_no": doc,
    }


def build_detail(dataset, case: Case) -> dict:
    """Return every case-page field of ``case`` plus the derived truth."""
    rng = random.Random(f"replica-detail-{dataset.seed}-{case.docket_no}")
    # Dates are generated relative to the day the case was born, so evolving the
    # data later appends to a case's history instead of rewriting it.
    today = case.born
    filed = case.file_date
    judge = rng.choice(fakes.JUDGES)
    doc_no = 20_000_000 + rng.randint(0, 9_000_000)

    def next_doc():
        nonlocal doc_no
        doc_no += rng.randint(1, 5000)
        return str(doc_no)

    def later(d: date, lo: int, hi: int) -> date:
        return min(today, d + timedelta(days=rng.randint(lo, hi)))

    # Parties ------------------------------------------------------------------
    plaintiff_app = _appearance(rng, filed)
    parties = [
        {
            "party_no": "P-01",
            "role": "P",
            "name": case.plaintiff,
            "category": "Plaintiff",
            "non_appearing": False,
            "appearances": [plaintiff_app],
        }
    ]
    last, first, mi = case.defendant
    d1_name = " ".join(p for p in (first, mi, last) if p)
    defendants = [d1_name]
    if first and rng.random() < 0.4:
        defendants.append(
            f"{rng.choice(fakes.FIRST_NAMES)} "
            f"{rng.choice(fakes.MIDDLE_INITIALS)} {last}"
        )
    if rng.random() < 0.3:
        defendants.append(f"{rng.choice(fakes.LENDERS[:8]).split(',')[0]}")
    for i, name in enumerate(defendants, start=1):
        appears = rng.random() < 0.35
        parties.append(
            {
                "party_no": f"D-{i:02d}",
                "role": "D",
                "name": name,
                "category": "Defendant",
                "non_appearing": not appears,
                "appearances": [_appearance(rng, later(filed, 10, 60))]
                if appears
                else [],
            }
        )
    if rng.random() < 0.4:
        parties.append(
            {
                "party_no": "L-01",
                "role": "L",
                "name": rng.choice(NOTICE_PARTIES),
                "category": FOR_NOTICE_ONLY,
                "non_appearing": True,
                "appearances": [],
            }
        )

    # Docket entries -----------------------------------------------------------
    entries = [
        _entry(None, filed, "P", "SUMMONS", doc=next_doc()),
        _entry(None, filed, "P", "COMPLAINT", doc=next_doc()),
        _entry(
            "100.30", filed, "P", "RETURN OF SERVICE", doc=next_doc(), arguable="No"
        ),
    ]
    for party in parties[1:]:
        for app in party["appearances"]:
            entries.append(
                _entry(
                    None,
                    app["file_date"],
                    "D",
                    "APPEARANCE",
                    add="Appearance",
                    doc=next_doc(),
                )
            )
    entry_no = 101
    cursor = later(filed, 20, 60)
    judgment_type = law_day = sale_date = None
    stage = rng.random()
    ages = (today - filed).days

    def add(
        description, by="P", *, result=None, add_desc=None, suffix=".00", arguable="Yes"
    ):
        nonlocal entry_no, cursor
        no = f"{entry_no}{suffix}"
        entry_no += 1
        entries.append(
            _entry(
                no,
                cursor,
                by,
                description,
                add=add_desc,
                result=result,
                doc=next_doc(),
                arguable=arguable,
            )
        )
        return no

    if ages > 40:
        add(
            "MOTION FOR DEFAULT-FAILURE TO APPEAR",
            result=f"Granted {fmt(later(cursor, 5, 20))} BY THE CLERK",
            arguable="No",
        )
        cursor = later(cursor, 15, 45)
    if ages > 90:
        mediation = rng.choice(
            (
                "FORECLOSURE MEDIATION TIME PERIOD EXPIRED",
                "FORECLOSURE MEDIATOR'S FINAL REPORT - MEDIATION PERIOD TERMINATED",
                "FORECLOSURE MEDIATION - INELIGIBLE CASE",
            )
        )
        add(mediation, by="C", arguable="No")
        cursor = later(cursor, 20, 90)
    wanted = JUDGMENT_OF.get(case.initial_disposition or "", "?")
    if wanted is None:
        stage = 1.0  # withdrawn before any judgment
    if (ages > 200 and stage < 0.8) or wanted in ("strict", "sale"):
        add("AFFIDAVIT OF COMPLIANCE WITH EMAP", arguable="No")
        add("FORECLOSURE WORKSHEET", arguable="No")
        cursor = later(cursor, 10, 60)
        ruled = later(cursor, 7, 40)
        if wanted == "strict" or (wanted == "?" and rng.random() < 0.6):
            judgment_type = "strict"
            law_day = ruled + timedelta(days=rng.randint(30, 120))
            add(
                "MOTION FOR JUDGMENT-STRICT FORECLOSURE",
                result=STRICT_RESULT.format(
                    ruled=fmt(ruled), judge=judge, day=fmt(law_day)
                ),
            )
        else:
            judgment_type = "sale"
            sale_date = ruled + timedelta(days=rng.randint(60, 150))
            add(
                "MOTION FOR JUDGMENT OF FORECLOSURE BY SALE",
                result=SALE_RESULT.format(
                    ruled=fmt(ruled), judge=judge, day=fmt(sale_date)
                ),
            )
        cursor = later(ruled, 10, 40)
        if judgment_type == "strict" and rng.random() < 0.25:
            add("AFFIDAVIT THAT PARTY IS IN BANKRUPTCY", by="D", arguable="No")
            ruled = later(cursor, 20, 90)
            law_day = ruled + timedelta(days=rng.randint(30, 90))
            add(
                RESET_AFTER_BANKRUPTCY,
                result=RESET_LAW_DAY_RESULT.format(
                    ruled=fmt(ruled), judge=judge, day=fmt(law_day)
                ),
            )
        elif judgment_type == "sale" and rng.random() < 0.3:
            ruled = later(cursor, 10, 60)
            sale_date = ruled + timedelta(days=rng.randint(45, 120))
            add(
                "MOTION TO OPEN JUDGMENT AND EXTEND THE SALE DATE",
                by="D",
                result=EXTEND_SALE_RESULT.format(
                    ruled=fmt(ruled), judge=judge, day=fmt(sale_date)
                ),
            )
    entries.extend(case.extra.get("entries", []))
    for change in case.extra.get("judgment", []):
        judgment_type, law_day, sale_date = change
    removed = set(case.extra.get("removed_parties", []))
    parties = [p for p in parties if p["party_no"] not in removed]

    # Court dates --------------------------------------------------------------
    court_dates = []
    if case.initial_disposition is None and rng.random() < 0.35:
        court_dates.append(
            {
                "court_date": today + timedelta(days=rng.randint(3, 60)),
                "court_time": rng.choice(("9:00AM", "9:30AM", "2:00PM")),
                "description": rng.choice(
                    (
                        "Remote Mediation",
                        "Foreclosure Short Calendar",
                        "Status Conference",
                    )
                ),
                "status": "Proceeding",
            }
        )

    others_p = sum(1 for p in parties if p["role"] == "P") > 1
    others_d = sum(1 for p in parties if p["role"] == "D") > 1
    caption = (
        f"{cut(case.plaintiff)}{' Et Al' if others_p else ''} v. "
        f"{cut(case.defendant_grid)}{' Et Al' if others_d else ''}"
    )
    street = case.street_lines[0]
    unit = case.street_lines[1] or None
    town_text = case.town.name.upper() if rng.random() < 0.5 else case.town.name
    raw = ", ".join([street, *([unit] if unit else []), town_text]) + f", CT {case.zip}"
    last_action = max((e["file_date"] for e in entries), default=filed)
    return {
        "caption": caption,
        "prefix": f"{case.town.court[1:]}{rng.randint(1, 9)}",
        "case_type_code": CASE_TYPE_CODE,
        "case_type": CASE_TYPE_TEXT.split(" - ", 1)[1],
        "case_type_text": CASE_TYPE_TEXT,
        "file_date": filed,
        "return_date": filed + timedelta(days=rng.randint(14, 40)),
        "court_location": case.town.court_name,
        "list_type": "NO JURY (NJ)" if rng.random() < 0.9 else "JURY (JY)",
        "last_action_date": last_action,
        "disposition_date": case.disposition_date,
        "disposition": case.disposition,
        "disposition_judge": judge if case.disposition else None,
        "information_updated": dataset.today,
        "property_address_raw": raw,
        "property_street": street,
        "property_unit": unit,
        "property_town": case.town.name,
        "property_state": "CT",
        "property_zip": case.zip,
        "parties": parties,
        "docket_entries": entries,
        # Past events drop off the schedule as the replica's days go by.
        "court_dates": [
            d
            for d in court_dates + case.extra.get("court_dates", [])
            if case.is_active and d["court_date"] >= dataset.today
        ],
        "judgment_type": judgment_type,
        "law_day": law_day,
        "sale_date": sale_date,
        "is_active": case.is_active,
        "subscribe_id": f"a{rng.randint(1000000000, 1999999999)}",
    }
