"""Subscriptions on saved searches, their delivery outbox and the in-app bell
(issue 18 parts 2, 3 and 6).

- ``subscriptions``: a user's watch on a saved search (both deleted with either):
  the events it wants (a JSON list of change kinds), how it emails (``off``,
  ``immediate`` or a ``digest`` at ``digest_hour`` America/New_York), its webhook's
  URL and HMAC secret (both Fernet-encrypted; none: no webhook), and whether
  webhook payloads may carry the case caption.
- ``notification_outbox``: one row per (subscription, change, channel), made once
  (the unique key makes a rerun of the matcher add nothing), with the stable
  ``delivery_id`` every attempt carries, its status, attempts, when it is next due
  and the last error (no personal data).
- ``notifications``: the bell, one row per (subscription, change).
- ``notify_state``: where the matcher stopped, as the change feed's cursor.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _fk(table: str, column: str, target: str):
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def _subscriptions() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("saved_search_id", sa.Integer, nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("email_mode", sa.String(9), nullable=False, server_default="off"),
        sa.Column("digest_hour", sa.SmallInteger),
        sa.Column("webhook_url", sa.Text),
        sa.Column("webhook_secret", sa.Text),
        sa.Column(
            "include_caption", sa.Boolean, nullable=False, server_default=sa.false()
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        _fk("subscriptions", "user_id", "users"),
        _fk("subscriptions", "saved_search_id", "saved_searches"),
        sa.CheckConstraint(
            "email_mode IN ('off', 'immediate', 'digest')",
            name=op.f("ck_subscriptions_email_mode"),
        ),
        sa.CheckConstraint(
            "(email_mode = 'digest') = (digest_hour IS NOT NULL)"
            " AND (digest_hour IS NULL OR digest_hour BETWEEN 0 AND 23)",
            name=op.f("ck_subscriptions_digest_hour"),
        ),
    )
    op.create_index(op.f("ix_subscriptions_user_id"), "subscriptions", ["user_id"])
    op.create_index(
        op.f("ix_subscriptions_saved_search_id"), "subscriptions", ["saved_search_id"]
    )


def _outbox() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("change_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(8), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        _fk("notification_outbox", "subscription_id", "subscriptions"),
        _fk("notification_outbox", "change_id", "case_changes"),
        sa.UniqueConstraint(
            "subscription_id",
            "change_id",
            "channel",
            name=op.f("uq_notification_outbox_subscription_id_change_id_channel"),
        ),
        sa.UniqueConstraint(
            "delivery_id", name=op.f("uq_notification_outbox_delivery_id")
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook')",
            name=op.f("ck_notification_outbox_channel"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')",
            name=op.f("ck_notification_outbox_status"),
        ),
    )
    op.create_index(
        "ix_notification_outbox_due",
        "notification_outbox",
        ["status", "next_attempt_at"],
    )
    op.create_index(
        op.f("ix_notification_outbox_change_id"), "notification_outbox", ["change_id"]
    )


def _notifications() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("change_id", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("read_at", TS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        _fk("notifications", "user_id", "users"),
        _fk("notifications", "subscription_id", "subscriptions"),
        _fk("notifications", "change_id", "case_changes"),
        sa.UniqueConstraint(
            "subscription_id",
            "change_id",
            name=op.f("uq_notifications_subscription_id_change_id"),
        ),
    )
    op.create_index(
        "ix_notifications_user_id_read_at", "notifications", ["user_id", "read_at"]
    )
    op.create_index(op.f("ix_notifications_change_id"), "notifications", ["change_id"])


def upgrade() -> None:
    _subscriptions()
    _outbox()
    _notifications()
    op.create_table(
        "notify_state",
        sa.Column("name", sa.String(32)),
        sa.Column("cursor", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notify_state")),
    )


def downgrade() -> None:
    op.drop_table("notify_state")
    op.drop_table("notifications")
    op.drop_table("notification_outbox")
    op.drop_table("subscriptions")
