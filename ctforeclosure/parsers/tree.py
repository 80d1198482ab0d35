"""Build an HTML tree from whatever text a server sends, hostile pages included.

Why a module of its own: ``lxml.html.fromstring`` refuses text that real servers do
send — an empty or comment-only page (``ParserError``), a page that opens with an XML
declaration (``ValueError``), text with lone surrogates (``UnicodeEncodeError``) — and
``parsel.Selector(text)`` guesses XML or JSON from the first characters. Every parser
builds its tree here, so any text gives an HTML tree and only the parsers' own
"layout changed" answers remain (tests/parsers/test_hostile_pages.py).
"""

from __future__ import annotations

import parsel

__all__ = ["html_root"]


def html_root(text: str):
    """Return the lxml HTML root of any text (``<html/>`` for an empty page).

    parsel parses UTF-8 bytes with lxml's recovering HTML parser, dropping NULs; lone
    surrogates (from a browser's DOM, never from a decoded response) become "?".
    """
    try:
        return parsel.Selector(text=text, type="html").root
    except UnicodeEncodeError:
        clean = text.encode("utf-8", "replace").decode("utf-8")
        return parsel.Selector(text=clean, type="html").root
