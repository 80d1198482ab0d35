"""docs/SITES.md stays honest: every section the code cites exists; no real names."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITES = ROOT / "docs" / "SITES.md"
CITING = ("ctforeclosure", "webui", "tests/replica", "bench")
CAPTURES = ROOT.parent / "shared" / "reference" / "captures"

#: "SITES.md §1.3", "docs/SITES.md §2.2, §8.7", "SITES §1-§3", "SITES.md §1.1-1.2".
NUMBER = r"\d+(?:\.\d+)*"
CITATION = re.compile(
    rf"SITES(?:\.md)? (§{NUMBER}(?:\s*[-\u2013]\s*§?{NUMBER}|,\s*§{NUMBER})*)"
)
SECTION = re.compile(rf"§?({NUMBER})")
HEADING = re.compile(rf"^#{{2,4}} ({NUMBER})[. ]", re.MULTILINE)
#: Case titles in the results grid and the case page's caption; party names on it.
TITLE = re.compile(
    r'<td align="left">([^<]+ v\. [^<]+)</td>|lblCaseCaption"[^>]*>([^<]+)<'
)
PARTY = re.compile(r'lblPtyPartyName"[^>]*>([^<]+)<')


def citations():
    """Yield (file:line, section) for every section number cited after "SITES"."""
    for top in CITING:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in {".py", ".md", ".html", ".js"} or not path.is_file():
                continue
            for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for m in CITATION.finditer(line):
                    for section in SECTION.findall(m.group(1)):
                        yield f"{path.relative_to(ROOT)}:{no}", section


def test_every_cited_section_exists():
    sections = set(HEADING.findall(SITES.read_text(encoding="utf-8")))
    cited = list(citations())
    assert cited, "no SITES.md references found: has the citation pattern changed?"
    missing = [f"{at}: §{section}" for at, section in cited if section not in sections]
    assert not missing, "cited, but not a section of docs/SITES.md:\n" + "\n".join(
        missing
    )


def test_every_reference_names_the_file_in_the_repository():
    bare = re.compile(r"(?<![/\w])SITES(?:\.md)? §")
    loose = [
        f"{path.relative_to(ROOT)}:{no}"
        for top in CITING
        for path in sorted((ROOT / top).rglob("*"))
        if path.suffix in {".py", ".md", ".html", ".js"} and path.is_file()
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if bare.search(line)
    ]
    assert not loose, "cite docs/SITES.md, not SITES.md or SITES:\n" + "\n".join(loose)


def names_in_captures():
    """Each side of every case title, and party names, as printed and reordered."""
    names = set()
    for page in CAPTURES.glob("civilinquiry/*.html"):
        text = page.read_text(encoding="utf-8", errors="replace")
        titles = [html.unescape(m.group(1) or m.group(2)) for m in TITLE.finditer(text)]
        parties = [html.unescape(m.group(1)) for m in PARTY.finditer(text)]
        for name in [side for t in titles for side in t.split(" v. ")] + parties:
            name = re.sub(r"\s+Et Al$", "", " ".join(name.split()), flags=re.I)
            names.add(name)
            last, _, first = name.partition(", ")
            if first:  # "LAST, FIRST M, ..." is also "FIRST M LAST", "FIRST LAST"
                given = first.split(",")[0].split() or [""]
                names.add(f"{' '.join(given)} {last}")
                names.add(f"{given[0]} {last}")
                names.add(f"{last}, {given[0]}")
    return {n for n in names if len(n) > 3}


def test_no_real_names():
    if not CAPTURES.is_dir():
        pytest.skip(f"no captures at {CAPTURES}: docs/SITES.md not checked for names")
    doc = " ".join(SITES.read_text(encoding="utf-8").upper().split())
    names = names_in_captures()
    assert names, f"no case titles found under {CAPTURES}"
    found = sorted(name for name in names if name.upper() in doc)
    assert not found, "docs/SITES.md names parties of the captures: " + "; ".join(found)
