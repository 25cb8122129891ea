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
from collections.abc import Sequence
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
    cameras: tuple[str, ...] = ()
    heads: tuple[str, ...] | None = None
    controller_id: str | None = None


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")


def _scope(
    cameras: Sequence[str], heads: Sequence[str], controller_id: str | None
) -> tuple[tuple[str, ...], tuple[str, ...] | None, str]:
    """The scope a token is stored with; heads become `camera/head`.

    A head given without its camera (`main`) means that head of every camera of
    the token; `camera/head` names one.
    """
    if not cameras:
        raise TokenError("a signal-controller token needs --camera (one per camera it reports)")
    if not controller_id:
        raise TokenError("a signal-controller token needs --controller (the controller's id)")
    for value in (*cameras, controller_id):
        if not _ID.match(value):
            raise TokenError(f"{value!r} must be letters, digits, '.', '_', ':' or '-'")
    scoped: list[str] = []
    for head in heads:
        camera, _, head_id = head.rpartition("/")
        if camera and camera not in cameras:
            raise TokenError(
                f"--head {head!r}: camera {camera!r} is not one of the token's --camera "
                f"({', '.join(cameras)})"
            )
        if not _ID.match(head_id):
            raise TokenError(f"--head {head!r}: head id must be letters, digits, '.', '_' or '-'")
        for cam in [camera] if camera else cameras:
            if f"{cam}/{head_id}" not in scoped:
                scoped.append(f"{cam}/{head_id}")
    return tuple(dict.fromkeys(cameras)), tuple(scoped) if scoped else None, controller_id


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_token(
    session: Session,
    name: str,
    role: str,
    *,
    cameras: Sequence[str] = (),
    heads: Sequence[str] = (),
    controller_id: str | None = None,
) -> NewToken:
    """Make a token for the client `name` with `role`, bound to its scope.

    Args:
        cameras: the cameras it may report for (at least one).
        heads: `head` (that head of each camera) or `camera/head`; none: every head
            of its cameras.
        controller_id: the controller id its posts carry (a post naming another is refused).

    Raises:
        TokenError: unknown role, bad or taken name, missing or bad scope.
    """
    if role not in TOKEN_ROLES:
        raise TokenError(f"role must be one of {', '.join(TOKEN_ROLES)}, got {role!r}")
    if not _NAME.match(name):
        raise TokenError(f"token name {name!r} must be letters, digits, '.', '_' or '-'")
    scoped_cameras, scoped_heads, controller = _scope(cameras, heads, controller_id)
    if find_token(session, name) is not None:
        raise TokenError(f"a token named {name!r} already exists")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            token_sha256=token_digest(token),
            role=role,
            cameras=list(scoped_cameras),
            heads=list(scoped_heads) if scoped_heads is not None else None,
            controller_id=controller,
        )
    )
    return NewToken(name, role, token, scoped_cameras, scoped_heads, controller)


def describe_scope(token: ApiToken) -> str:
    """The scope as `tokens list` prints it."""
    if not token.cameras:
        return "no scope (posts nothing; make it again with --camera/--controller)"
    heads = ",".join(token.heads) if token.heads else "all heads"
    return f"cameras {','.join(token.cameras)}; {heads}; controller {token.controller_id}"


def scope_refusal(
    token: ApiToken, *, camera_id: str, head_id: str, controller_id: str | None
) -> str | None:
    """Why `token` may not report this head's phase, or None when it may."""
    if not token.cameras:
        return f"token {token.name!r} has no scope; make it again with --camera and --controller"
    if camera_id not in token.cameras:
        return f"token {token.name!r} may not report for camera {camera_id!r}"
    if token.heads is not None and f"{camera_id}/{head_id}" not in token.heads:
        return (
            f"token {token.name!r} may not report signal head {head_id!r} of camera {camera_id!r}"
        )
    if controller_id is not None and controller_id != token.controller_id:
        return (
            f"token {token.name!r} belongs to controller {token.controller_id!r}, "
            f"not {controller_id!r}"
        )
    return None


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
