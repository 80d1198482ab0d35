"""One way to encrypt stored secrets: per purpose, under CTF_SECRET_KEY."""

import pytest

from ctforeclosure.services import encryption

#: A TOTP secret ("JBSWY3DPEHPK3PXP") encrypted under "test-secret-key" by the
#: second factor's own cipher before it moved here: enrolled users keep their codes.
TOTP_TOKEN_FROM_BEFORE = (
    "gAAAAABrEu6-lBOJhrl3tKKpnqUSlG8HePSkKe4LNS5X2Dz0wkQMR6jm_RDGq2R8WRUJ_dxXp5isp15s"
    "LGq7h9nkHVcmKnbzJmObmX_uFItEsR3uOymp3Mg="
)


def test_encryption_reads_totp_secrets_stored_before_the_move():
    token = TOTP_TOKEN_FROM_BEFORE
    assert encryption.decrypt("test-secret-key", "totp secret", token) == (
        "JBSWY3DPEHPK3PXP"
    )


def test_encryption_round_trips_and_hides_the_text():
    token = encryption.encrypt("k", "webhook", "https://hooks.example.org/T0K3N")
    assert "T0K3N" not in token
    assert (
        encryption.decrypt("k", "webhook", token) == "https://hooks.example.org/T0K3N"
    )


@pytest.mark.parametrize(
    ("key", "purpose"), [("other", "webhook"), ("k", "totp secret")]
)
def test_encryption_refuses_another_key_or_purpose(key, purpose):
    token = encryption.encrypt("k", "webhook", "secret")
    with pytest.raises(encryption.InvalidToken):
        encryption.decrypt(key, purpose, token)
