"""Accounts of the review interface: argon2 password hashes, roles, disabling."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.store.models import User

ROLES = ("police", "operator", "analyst", "admin")

_hasher = PasswordHasher()


class UserError(Exception):
    """A user command that cannot be done; the message says why."""


def add_user(session: Session, username: str, password: str, role: str) -> User:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        raise UserError(f"username {username!r} must be letters, digits, '.' or '_'")
    if len(password) < 8:
        raise UserError("password must be at least 8 characters")
    if find_user(session, username) is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(username=username, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def set_password(session: Session, username: str, password: str) -> None:
    user = find_user(session, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    if len(password) < 8:
        raise UserError("password must be at least 8 characters")
    user.password_hash = _hasher.hash(password)


def set_disabled(session: Session, username: str, disabled: bool = True) -> None:
    user = find_user(session, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    user.disabled = disabled


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user when the password matches and the account is enabled, else None."""
    user = find_user(session, username)
    if user is None or user.disabled:
        # Hash anyway so a missing user takes as long as a wrong password.
        _hasher.hash(password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user
