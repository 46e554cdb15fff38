"""The secrets a user holds after signing in (API tokens, browser sessions) and how they
are kept: as the sha256 of the secret, never the secret itself.

A secret is 256 random bits, so its sha256 cannot be reversed by guessing: a slow
password hash would add cost to every request and no safety. A stolen table therefore
holds nothing that signs anyone in.
"""

from __future__ import annotations

import hashlib
import secrets


def new_secret(prefix: str = "") -> str:
    """A fresh secret of 256 random bits, URL-safe, after ``prefix``."""
    return prefix + secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    """What is stored in place of ``secret``."""
    return hashlib.sha256(secret.encode()).hexdigest()
