"""The emails of subscriptions: one change (``immediate``) or a day's changes of
one subscription (``digest``), each line worded as the webhook's ``text`` line
(:func:`ctforeclosure.services.webhooks.payload`), so every channel tells an event
the same way.

A digest is one email per subscription and due hour however many changes it
carries; past :data:`DIGEST_LINES` it counts the rest and links to the
notifications page.

Staff emails carry the case caption (it names the defendants: staff see it on the
case page anyway), never contact data: no phones, no emails, no mailing addresses
(a ``phones_found`` change says that phones were found, not which). Each message
carries its stable delivery id as ``X-CTF-Delivery`` and in its ``Message-ID``, so
the one resend after a crash between sending and recording is the same message to
a mail client that de-duplicates, and recognisable to anyone who looks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from ctforeclosure.services import webhooks

__all__ = ["digest_id", "digest_message", "immediate_message"]

#: The right-hand side of every notification's Message-ID.
MESSAGE_DOMAIN = "notify.ctforeclosure"
_DIGESTS = uuid.UUID("6f1c1d2e-9a8b-4c1e-8f0e-5c7d2b1a9e30")
#: The most changes a digest tells one by one; the others it counts, with a link
#: to the notifications page (the bell has every one): a digest of thousands of
#: changes is read there, not in a mail client.
DIGEST_LINES = 200
NOTIFICATIONS_PATH = "/notifications/"


def _lines(item: Any) -> list[str]:
    """Return the lines telling one change: what happened, the caption, the page."""
    body = webhooks.payload(
        item.change, item.case, item.event, True, base_url=item.base_url
    )
    lines = [body["text"]]
    if body.get("caption"):
        lines.append(f"  {body['caption']}")
    if body.get("url"):
        lines.append(f"  {body['url']}")
    return lines


def _message(to: str, subject: str, delivery_id: str, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"[ctforeclosure] {subject}"
    message["From"] = sender
    message["To"] = to
    message["Message-ID"] = f"<{delivery_id}@{MESSAGE_DOMAIN}>"
    message["X-CTF-Delivery"] = delivery_id
    return message


def immediate_message(item: Any, sender: str) -> EmailMessage:
    """Return the email of one change (``item``: an outbox row with its change,
    case, event, subscriber, search name and base URL)."""
    lines = _lines(item)
    message = _message(item.email, lines[0], item.delivery_id, sender)
    footer = f"Saved search: {item.search_name}. Delivery {item.delivery_id}."
    message.set_content("\n".join([*lines, "", footer]) + "\n")
    return message


def digest_id(delivery_ids: Sequence[str]) -> str:
    """Return the stable id of a digest: the same deliveries give the same id."""
    return str(uuid.uuid5(_DIGESTS, ",".join(sorted(delivery_ids))))


def _more(count: int, base_url: str | None) -> str:
    """Return the line counting the changes a digest does not tell one by one."""
    where = "your notifications page"
    if base_url:
        where += f": {base_url.rstrip('/')}{NOTIFICATIONS_PATH}"
    return f"...and {count:,} more, all on {where}"


def digest_message(items: Sequence[Any], sender: str) -> EmailMessage:
    """Return the digest email of one subscription's due changes (oldest first):
    the first :data:`DIGEST_LINES` told, the others counted (those ``items`` need
    only their ``delivery_id``); its id is of them all."""
    first, told = items[0], items[:DIGEST_LINES]
    ids = [item.delivery_id for item in items]
    count = f"{len(items):,} update{'s' if len(items) != 1 else ''}"
    message = _message(
        first.email, f"{count}: {first.search_name}", digest_id(ids), sender
    )
    lines = [f"{count} for your saved search {first.search_name}:", ""]
    for item in told:
        lines += [*_lines(item), ""]
    deliveries = "Deliveries: " + ", ".join(ids[:DIGEST_LINES])
    if more := len(items) - len(told):
        lines += [_more(more, first.base_url), ""]
        deliveries += f" and {more:,} more"
    message.set_content("\n".join([*lines, deliveries]) + "\n")
    return message
