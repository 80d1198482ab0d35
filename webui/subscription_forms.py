"""What a subscription's form and the API's bodies accept: one set of rules
(pydantic, through :mod:`webui.params`) for the "Get notified" page and
``/api/v1/subscriptions``, so a bad value is refused the same way on both and
named the same (a page re-shows its form naming the field; the API answers 400
with ``parameter``).

What each event means and which change kinds it takes is
:mod:`ctforeclosure.services.subscriptions`'; this module gives the events the
words a person reads next to a checkbox.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from ctforeclosure.services import subscriptions
from webui import params
from webui.params import Flag, JsonBody, QueryArgs

#: Each event as a checkbox reads (the service's EVENTS, in its order).
EVENT_LABELS = {
    "new_case": "New case matching the search",
    "judgment": "Judgment entered (strict foreclosure or by sale)",
    "law_day": "Law day set or moved",
    "sale_scheduled": "Sale scheduled",
    "sale_moved": "Sale moved",
    "sale_cancelled": "Sale cancelled",
    "sale_unlisted": "Sale taken off the sales list",
    "sale_relisted": "Sale listed again",
    "disposition": "Disposition (the case closed)",
    "no_longer_listed": "Case no longer listed on the court's site",
    "phones_found": "Skip trace found phones (how many, never which)",
}
EMAIL_MODES = {
    "off": "No email",
    "immediate": "Immediately",
    "digest": "A daily digest",
}
EVENTS_TEXT = "one or more events of: " + ", ".join(subscriptions.EVENTS)
EMAIL_TEXT = "off | immediate | digest"
HOUR_TEXT = (
    "an hour from 0 to 23 (America/New_York), given when email_mode is digest "
    "and only then"
)
URL_TEXT = (
    "an https:// address (or http:// to a host an admin allow-listed) of at most "
    "2000 characters"
)
CAPTION_TEXT = "include the case caption (it names the defendants) in webhooks"
SEARCH_TEXT = "the id of a saved search you see (yours or a shared one)"

#: What each field accepts, by the name a refusal gives it.
ACCEPTS = {
    "events": EVENTS_TEXT,
    "email_mode": EMAIL_TEXT,
    "digest_hour": HOUR_TEXT,
    "webhook_url": URL_TEXT,
    "include_caption": CAPTION_TEXT,
    "saved_search_id": SEARCH_TEXT,
}

Event = Literal[tuple(subscriptions.EVENTS)]
Events = Annotated[list[Event], Field(min_length=1, max_length=len(EVENT_LABELS))]
Hour = Annotated[int, Field(ge=0, le=23)]
Url = params.text(2000)


def hour_problem(email: str, hour: int | None) -> str:
    """Return why ``hour`` does not go with ``email``: a digest needs its hour, and
    only a digest has one ("" when they go together)."""
    if email == "digest" and hour is None:
        return "a daily digest needs its hour"
    if email != "digest" and hour is not None:
        return "an hour is only for a daily digest"
    return ""


def check_hour(email: str, hour: int | None) -> None:
    """Raise BadParameter naming ``digest_hour`` unless it goes with the mode."""
    if problem := hour_problem(email, hour):
        raise params.BadParameter("digest_hour", HOUR_TEXT, problem)


class _Choices(BaseModel):
    """The fields every form of a subscription has."""

    events: Events = Field(description=EVENTS_TEXT)
    email_mode: Literal["off", "immediate", "digest"] = Field(
        "off", description=EMAIL_TEXT
    )
    digest_hour: Hour | None = Field(None, description=HOUR_TEXT, validate_default=True)
    webhook_url: Url = Field("", description=URL_TEXT)
    include_caption: Flag = Field(False, description=CAPTION_TEXT)

    @field_validator("digest_hour")
    @classmethod
    def _hour(cls, hour: int | None, info: ValidationInfo) -> int | None:
        email = info.data.get("email_mode")
        if email is not None and (problem := hour_problem(email, hour)):
            raise params.Refused(problem)
        return hour


def choices(model: _Choices) -> dict:
    """Return what a form or a POST body chose, as the service takes it."""
    return model.model_dump(
        include={"events", "email_mode", "digest_hour", "include_caption"}
    )


class SubscriptionForm(_Choices, QueryArgs):
    """The "Get notified" form (its checkboxes come as a list: see :func:`form`)."""

    saved_search_id: int | None = Field(
        None, ge=1, le=params.MAX_ID, description=SEARCH_TEXT
    )
    remove_webhook: Flag = Field(False, description=params.FLAG_TEXT)


class NewSubscriptionBody(_Choices, JsonBody):
    """``POST /api/v1/subscriptions``."""

    saved_search_id: int = Field(ge=1, le=params.MAX_ID, description=SEARCH_TEXT)


class SubscriptionListArgs(QueryArgs):
    """``GET /api/v1/subscriptions``: all of yours, or one saved search's."""

    saved_search_id: int | None = Field(
        None, ge=1, le=params.MAX_ID, description=SEARCH_TEXT
    )


class SubscriptionChangeBody(JsonBody):
    """``PATCH /api/v1/subscriptions/{id}``: what is given changes, the rest stays
    (``webhook_url: ""`` removes the webhook)."""

    events: Events | None = Field(None, description=EVENTS_TEXT)
    email_mode: Literal["off", "immediate", "digest"] | None = Field(
        None, description=EMAIL_TEXT
    )
    digest_hour: Hour | None = Field(None, description=HOUR_TEXT)
    webhook_url: Url | None = Field(
        None, description=URL_TEXT + "; empty removes the webhook"
    )
    include_caption: bool | None = Field(None, description=CAPTION_TEXT)


class NotificationArgs(params.PageArgs):
    """The notifications list's query arguments (the page's and the API's)."""

    unread: Flag = Field(False, description="only unread ones: " + params.FLAG_TEXT)


class ReadBody(JsonBody):
    """``POST /api/v1/notifications/read``: these ids, or every unread one."""

    ids: list[Annotated[int, Field(ge=1, le=params.MAX_ID)]] | None = Field(
        None,
        max_length=1000,
        description="notification ids (yours); omit to mark every one read",
    )


def form(data) -> SubscriptionForm:
    """Return the posted form read (its event checkboxes as a list, the hour only
    for a digest); raise BadParameter naming the field."""
    fields = {k: v for k, v in data.to_dict(flat=True).items() if v != ""}
    fields["events"] = data.getlist("events")
    if fields.get("email_mode", "off") != "digest":
        # the hour's menu is always sent; it means something only for a digest
        fields.pop("digest_hour", None)
    return params.parse(SubscriptionForm, fields)
