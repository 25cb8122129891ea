"""The login throttle: attempts counted per user name at an address, and per address.

No key is a user name alone, so nobody can lock a named officer out (user names
are printed on notices): guessing `officer1`'s password from one address throttles
`officer1` at that address only, and the officer still logs in from their own PC.
An address that guesses many names is stopped by the per-address count.

Each attempt is counted *before* the password is checked, by one conditional
UPDATE per key (`failures < limit`, or the window has passed). The database
decides under its row lock, so parallel guesses cannot all pass a check before
any of them is recorded. A right password then gives the attempt back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, case, delete, literal, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pipeline.store.models import LoginThrottle


@dataclass(frozen=True)
class ThrottleKey:
    """One counter and the number of attempts it allows per window."""

    key: str
    limit: int


def login_keys(
    username: str, address: str, *, per_user_limit: int, per_address_limit: int
) -> list[ThrottleKey]:
    """The counters one login attempt raises: this name at this address, and this address."""
    name = username.strip().lower()[:80]
    where = address[:100]
    return [
        ThrottleKey(f"user-at:{name}@{where}", per_user_limit),
        ThrottleKey(f"address:{where}", per_address_limit),
    ]


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _ensure_row(session: Session, key: str, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(LoginThrottle)
        .values(key=key, failures=0, window_started_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    session.execute(statement)


def reserve_attempt(
    session: Session, keys: Sequence[ThrottleKey], *, now: datetime, window_s: float
) -> ThrottleKey | None:
    """Count one attempt against every key, unless one of them is at its limit.

    Returns:
        None when the attempt may go ahead (it is counted); else the key at its
        limit, and nothing is counted.
    """
    since = now - timedelta(seconds=window_s)
    expired = LoginThrottle.window_started_at <= since
    counted: list[str] = []
    for throttle in sorted(keys, key=lambda k: k.key):  # one order: no deadlocks
        _ensure_row(session, throttle.key, now)
        result = session.execute(
            update(LoginThrottle)
            .where(
                LoginThrottle.key == throttle.key,
                expired | (LoginThrottle.failures < throttle.limit),
            )
            .values(
                failures=case((expired, 1), else_=LoginThrottle.failures + 1),
                window_started_at=case(
                    (expired, literal(now, LoginThrottle.window_started_at.type)),
                    else_=LoginThrottle.window_started_at,
                ),
            )
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) == 0:
            _give_back(session, counted)
            return throttle
        counted.append(throttle.key)
    return None


def first_refusal(
    session: Session, throttle: ThrottleKey, *, now: datetime, window_s: float
) -> bool:
    """True for the first refused attempt of a key's window, so only it is audited.

    The count moves one past the limit then, and later refusals find it there.
    """
    since = now - timedelta(seconds=window_s)
    result = session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.key == throttle.key,
            LoginThrottle.failures == throttle.limit,
            LoginThrottle.window_started_at > since,
        )
        .values(failures=LoginThrottle.failures + 1)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def _give_back(session: Session, keys: Sequence[str]) -> None:
    if keys:
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key.in_(list(keys)), LoginThrottle.failures > 0)
            .values(failures=LoginThrottle.failures - 1)
            .execution_options(synchronize_session=False)
        )


def login_succeeded(session: Session, keys: Sequence[ThrottleKey]) -> None:
    """A right password: forget this name's failures at this address, and give the
    address back this attempt (not its other failures: one valid account must not
    let an address reset its count between guesses at others)."""
    user_keys = [k.key for k in keys if k.key.startswith("user-at:")]
    if user_keys:
        session.execute(
            delete(LoginThrottle)
            .where(LoginThrottle.key.in_(user_keys))
            .execution_options(synchronize_session=False)
        )
    _give_back(session, [k.key for k in keys if not k.key.startswith("user-at:")])


def forget_expired(session: Session, *, now: datetime, window_s: float) -> int:
    """Delete counters whose window has passed (they would restart at 1 anyway)."""
    since = now - timedelta(seconds=window_s)
    result = session.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.window_started_at <= since)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)
