"""Bearer tokens for machine clients of the API (signal controllers).

A token is 32 random bytes, shown once when it is made; the database keeps only
its SHA-256. A slow password hash buys nothing for a random secret of that size
and would cost every request of a controller posting each phase change.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.store.models import ApiToken, utcnow

TOKEN_ROLES = ("signal-controller",)
"""What a token may do. Tokens never hold a person's role: people log in."""
TOKEN_PREFIX = "tc_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class TokenError(Exception):
    """A token command that cannot be done; the message says why."""


@dataclass(frozen=True)
class NewToken:
    name: str
    role: str
    token: str
    """The secret itself; not stored, so this is the only time it is seen."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_token(session: Session, name: str, role: str) -> NewToken:
    """Make a token for the client `name` with `role`.

    Raises:
        TokenError: unknown role, bad or taken name.
    """
    if role not in TOKEN_ROLES:
        raise TokenError(f"role must be one of {', '.join(TOKEN_ROLES)}, got {role!r}")
    if not _NAME.match(name):
        raise TokenError(f"token name {name!r} must be letters, digits, '.', '_' or '-'")
    if find_token(session, name) is not None:
        raise TokenError(f"a token named {name!r} already exists")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_sha256=token_digest(token), role=role))
    return NewToken(name, role, token)


def find_token(session: Session, name: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.name == name)).first()


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))


def revoke_token(session: Session, name: str) -> None:
    token = find_token(session, name)
    if token is None:
        raise TokenError(f"no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def token_holder(session: Session, token: str) -> ApiToken | None:
    """The unrevoked token row whose secret is `token`, else None."""
    digest = token_digest(token)
    row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == digest)).first()
    # The lookup is by digest, so timing reveals nothing of the secret; the compare
    # guards against a collation that would match digests loosely.
    if row is None or row.revoked_at is not None:
        return None
    return row if hmac.compare_digest(row.token_sha256, digest) else None
