"""A scrapyd node refuses to start without real credentials.

scrapyd without ``SCRAPYD_USERNAME``/``SCRAPYD_PASSWORD`` logs "Basic authentication
disabled" and serves its console, ``listjobs.json`` and ``schedule.json`` to anyone;
with ``addversion.json`` on, an egg upload is code execution in an environment that
holds ``DATABASE_URL`` and ``BATCHDATA_API_KEY``. So every way this project starts a
node (the systemd unit's ``ExecStartPre``, the container image's command) goes
through :func:`credential_problems` first and fails closed.

The same pair guards both layers: scrapyd's own basic auth and the reverse proxy's
htpasswd (:func:`htpasswd_line`), so ``ctforeclosure schedule`` sends one
``Authorization`` header that both accept.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import bcrypt

from ctforeclosure.config import Config

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "CredentialsRefused",
    "credential_problems",
    "exec_scrapyd",
    "htpasswd_line",
    "require_credentials",
]

#: Long enough that guessing it over HTTP is hopeless; a generated token is 32.
MIN_PASSWORD_LENGTH = 16

#: Values that sample files and tutorials ship, compared without case or separators.
PLACEHOLDERS = frozenset(
    {
        "changeme",
        "changethis",
        "password",
        "secret",
        "scrapyd",
        "admin",
        "example",
        "default",
        "xxx",
        "todo",
    }
)


class CredentialsRefused(RuntimeError):
    """scrapyd's credentials are missing or a placeholder."""


def _folded(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch.isalnum())


def credential_problems(username: str | None, password: str | None) -> list[str]:
    """Return what is wrong with scrapyd's credentials (empty: they will do)."""
    problems = []
    if not username:
        problems.append("SCRAPYD_USERNAME is not set")
    if not password:
        problems.append("SCRAPYD_PASSWORD is not set")
        return problems
    folded = _folded(password)
    if folded in PLACEHOLDERS or any(p in folded for p in ("changeme", "changethis")):
        problems.append("SCRAPYD_PASSWORD is a placeholder from a sample file")
    elif len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            f"SCRAPYD_PASSWORD has {len(password)} characters; "
            f"at least {MIN_PASSWORD_LENGTH} are needed"
        )
    if username and folded == _folded(username):
        problems.append("SCRAPYD_PASSWORD is the user name")
    return problems


def require_credentials(cfg: Config) -> None:
    """Raise :class:`CredentialsRefused` unless scrapyd's credentials will do."""
    problems = credential_problems(cfg.scrapyd_username, cfg.scrapyd_password)
    if problems:
        raise CredentialsRefused(
            "; ".join(problems)
            + ". Without real credentials scrapyd serves job control and egg uploads "
            "to anyone. "
            "Set both in scrapyd's environment (e.g. /etc/ctforeclosure/scrapyd.env); "
            "make a password with: python3 -c "
            "'import secrets; print(secrets.token_urlsafe(24))'"
        )


def htpasswd_line(cfg: Config) -> str:
    """Return the reverse proxy's htpasswd line for scrapyd's own credentials."""
    require_credentials(cfg)
    hashed = bcrypt.hashpw(cfg.scrapyd_password.encode(), bcrypt.gensalt())
    return f"{cfg.scrapyd_username}:{hashed.decode()}"


def exec_scrapyd(cfg: Config, args: list[str]) -> None:
    """Check the credentials, then replace this process with this venv's scrapyd.

    The venv's own scrapyd, because jobs run with its Python, which has the
    project's dependencies (the egg carries none).
    """
    require_credentials(cfg)
    scrapyd = Path(sys.executable).with_name("scrapyd")
    os.execv(scrapyd, [str(scrapyd), *args])  # noqa: S606 (no shell: argv as given)
