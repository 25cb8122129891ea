"""Accounts of the review interface: argon2 password hashes, roles, disabling, and the
session version that ends every session of an account at once."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.store.models import AuditEntry, User

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


def end_sessions(session: Session, user: User) -> None:
    """Invalidate every session cookie issued to `user` so far (logout, new password,
    disabling): each carries the version it was issued under, and this raises it.

    One UPDATE in the database, so two of these at once both count.
    """
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, ["session_version"])


def set_password(session: Session, username: str, password: str) -> None:
    """Set a new password; every session of the account ends (someone else may hold one)."""
    user = find_user(session, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    if len(password) < 8:
        raise UserError("password must be at least 8 characters")
    user.password_hash = _hasher.hash(password)
    end_sessions(session, user)


def set_disabled(session: Session, username: str, disabled: bool = True) -> None:
    """Disable (or enable again) an account; disabling ends all of its sessions."""
    user = find_user(session, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    user.disabled = disabled
    if disabled:
        end_sessions(session, user)


def set_plate_access(session: Session, username: str, allowed: bool = True) -> None:
    """Let an analyst see plates whole in the history, its CSV and API (or stop it).

    Police and admins see plates by their role; the change is audited.
    """
    user = find_user(session, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    user.plate_access = allowed
    session.add(
        AuditEntry(
            actor="cli",
            action="user.plate_access",
            subject=f"user:{username}",
            detail={"allowed": allowed},
        )
    )


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
