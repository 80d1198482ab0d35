"""Role by action matrix: who may do what (allowed or refused)."""

from __future__ import annotations

import pytest

from tests.webui.conftest import csrf_token

ROLES = ("admin", "manager", "viewer")
# action name, method, path, lowest role allowed
ACTIONS = (
    ("read dashboard", "GET", "/", "viewer"),
    ("read cases", "GET", "/cases/", "viewer"),
    ("read case page", "GET", "/cases/HHDCV226160660S", "viewer"),
    ("read towns", "GET", "/towns/", "viewer"),
    ("read crawls", "GET", "/crawls/", "viewer"),
    ("read the data-quality report", "GET", "/quality/", "manager"),
    ("read skip-trace ledger", "GET", "/skiptrace/", "viewer"),
    ("export CSV", "GET", "/exports/cases.csv", "manager"),
    ("export XLSX", "GET", "/exports/cases.xlsx", "manager"),
    ("export with DNC/TCPA phones", "POST", "/exports/cases.csv", "manager"),
    ("start a crawl", "POST", "/crawls/start", "manager"),
    ("quote a skip trace", "POST", "/skiptrace/quote", "manager"),
    ("list users", "GET", "/admin/users", "admin"),
    ("read audit log", "GET", "/admin/audit", "admin"),
    ("create user", "POST", "/admin/users", "admin"),
    ("change role", "POST", "/admin/users/3/role", "admin"),
    ("disable user", "POST", "/admin/users/3/disable", "admin"),
    ("reset password", "POST", "/admin/users/3/password", "admin"),
    ("invite a user", "POST", "/admin/invitations", "admin"),
    ("reset a second factor", "POST", "/admin/users/3/second-factor/reset", "admin"),
    (
        "require 2FA for managers",
        "POST",
        "/admin/settings/require-2fa-managers",
        "admin",
    ),
    ("read my account", "GET", "/account/", "viewer"),
    ("issue token", "POST", "/admin/users/3/tokens", "admin"),
)
RANK = {"admin": 0, "manager": 1, "viewer": 2}


@pytest.mark.parametrize("role", ROLES)
def test_role_action_matrix(as_role, role):
    client = as_role(role)
    token = csrf_token(client, "/")
    for name, method, path, lowest in ACTIONS:
        data = {"csrf_token": token} if method == "POST" else None
        response = client.open(path, method=method, data=data)
        allowed = RANK[role] <= RANK[lowest]
        if allowed:
            assert response.status_code != 403, (role, name, response.status_code)
            assert response.status_code < 500 or response.status_code == 503, (
                role,
                name,
            )
        else:
            assert response.status_code == 403, (role, name, response.status_code)
