"""Names, addresses and phone numbers in the one form skip tracing compares and stores.

The dedupe key (:func:`person_key`) decides what is never billed twice, so it lives
here, next to the normalisation it depends on. The masks keep phones and emails out
of logs (only the last digits or the domain survive).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = [
    "Address",
    "PersonName",
    "e164",
    "mask_email",
    "mask_phone",
    "person_key",
    "split_name",
]

#: Words after which a party name stops naming the person ("X, EXECUTOR OF ...").
_ROLE_WORDS = (
    r"A/?K/?A|F/?K/?A|N/?K/?A|D/?B/?A|AKA|FKA|NKA|DBA|EXECUTOR|EXECUTRIX|ADMINISTRATOR|"
    r"ADMINSTRATOR|ADMINISTRATRIX|CO-ADMINISTRATORS?|CO-ADMINSTRATORS?|CO-EXECUTORS?|"
    r"TRUSTEE|CONSERVATOR|FIDUCIARY|HEIRS?|BENEFICIARY|AS|IF LIVING|THE WIDOW|ET AL"
)
_ROLE_RE = re.compile(rf"(?:,|\s)\s*(?:{_ROLE_WORDS})\b.*$")
_TITLES = {"DR", "MR", "MRS", "MS", "MISS", "REV"}
_SUFFIXES = {"JR", "SR", "II", "III", "IV", "V", "MD", "ESQ", "PHD", "DDS"}


@dataclass(frozen=True)
class PersonName:
    first: str
    last: str


@dataclass(frozen=True)
class Address:
    street: str
    city: str | None
    state: str
    zip: str | None

    def as_request(self) -> dict[str, str]:
        """Return the BatchData ``propertyAddress`` object (docs/SITES.md §7.2)."""
        out = {"street": self.street, "state": self.state}
        if self.city:
            out["city"] = self.city
        if self.zip:
            out["zip"] = self.zip
        return out


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s.]+", text.upper()) if w]


def person_part(name: str) -> str:
    """Return the part of a party name that names the person, without roles/aliases."""
    text = re.sub(r"\s+", " ", (name or "").upper()).strip()
    return _ROLE_RE.sub("", text).strip(" ,")


def split_name(name: str) -> PersonName | None:
    """Return first and last name of a party name, or None if it cannot be read.

    The case page prints natural order ("ROBERT GALLAGHER MD"); the search grid
    prints "LAST, FIRST M" — a single word before the first comma means the latter.
    """
    text = person_part(name)
    if not text:
        return None
    head, sep, tail = text.partition(",")
    if sep and len(_words(head)) == 1 and tail.strip():
        words = [*_words(tail.replace(",", " ")), head.strip(" .")]
    else:
        words = _words(text.replace(",", " "))
    words = [w for w in words if w not in _SUFFIXES]
    while words and words[0] in _TITLES:
        words.pop(0)
    if len(words) < 2 or not all(re.fullmatch(r"[A-Z][A-Z'\-]*", w) for w in words):
        return None
    return PersonName(first=words[0], last=words[-1])


def _norm(text: str | None) -> str:
    return re.sub(r"[^A-Z0-9]+", " ", (text or "").upper()).strip()


def person_key(person: PersonName, address: Address) -> str:
    """Return the dedupe key: a hash of the normalised person and property address."""
    place = address.zip or _norm(address.city)
    text = "|".join(
        [_norm(person.first), _norm(person.last), _norm(address.street), place]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def e164(number: str | None) -> str | None:
    """Return a US phone number as E.164 ("+18605550123"), or None if it is not one."""
    digits = re.sub(r"\D", "", number or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01":
        return None
    return "+1" + digits


def mask_phone(number: str | None) -> str:
    """Return a phone number with all but the last two digits hidden."""
    digits = re.sub(r"\D", "", number or "")
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_email(email: str | None) -> str:
    """Return an email address with the local part hidden."""
    _, _, domain = (email or "").partition("@")
    return f"***@{domain}" if domain else "***"
