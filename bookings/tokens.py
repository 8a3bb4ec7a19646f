"""Booking references and manage-link tokens. Pure functions: no database access."""

import hashlib
import secrets

from django.utils.crypto import constant_time_compare

# No 0/O, 1/I/L or U: a reference must survive being read aloud over the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def new_reference(*, short_code: str) -> str:
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{short_code}-{chars[:4]}-{chars[4:]}"


def normalise_reference(raw: str) -> str:
    """Accept what people type: lower case, spaces instead of dashes, O for 0 and I/L for 1."""
    cleaned = "".join(ch for ch in raw.upper() if ch.isalnum())
    if len(cleaned) < 10:
        return raw.strip().upper()
    code, rest = cleaned[:-8], cleaned[-8:]
    rest = rest.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    return f"{code}-{rest[:4]}-{rest[4:]}"


def new_manage_token() -> str:
    """A manage link's token: 256 random bits as 64 hex digits (DESIGN.md §6). Only its hash is stored,
    so it is shown to the person once (the page, the API answer, an e-mail) and kept nowhere else."""
    return secrets.token_hex(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(*, token: str, token_hash: str) -> bool:
    return constant_time_compare(hash_token(token), token_hash)
