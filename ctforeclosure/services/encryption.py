"""Fernet encryption of the secrets the database keeps in a readable form: TOTP
secrets (:mod:`ctforeclosure.services.second_factor`) and webhook URLs and signing
secrets (:mod:`ctforeclosure.services.webhooks`).

Why one module: every such secret is encrypted the same way, under a key derived
(HKDF-SHA256) from the web UI's ``CTF_SECRET_KEY`` with a purpose of its own, so a
database dump alone reveals none of them, and a token made for one purpose never
decrypts as another. Changing ``CTF_SECRET_KEY`` makes every stored token
unreadable: each caller's docstring says what its users must then do.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "cipher", "decrypt", "encrypt"]


def cipher(secret_key: str, purpose: str) -> Fernet:
    """Return the cipher for one purpose ("totp secret", "webhook"), keyed from the
    app's secret key."""
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"ctforeclosure {purpose}".encode(),
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret_key: str, purpose: str, text: str) -> str:
    """Return ``text`` encrypted for ``purpose``, as text a column can hold."""
    return cipher(secret_key, purpose).encrypt(text.encode()).decode()


def decrypt(secret_key: str, purpose: str, token: str) -> str:
    """Return the text of a token :func:`encrypt` made; raise :class:`InvalidToken`
    when the key changed or the token was made for another purpose."""
    return cipher(secret_key, purpose).decrypt(token.encode()).decode()
