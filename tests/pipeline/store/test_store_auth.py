"""Store side of logins, on SQLite and PostgreSQL: the atomic login throttle, session
versions, and the SQLite file's permissions."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import ConfigError, parse_config
from pipeline.store import login_throttle
from pipeline.store.db import alembic_config, make_engine, open_database, redact_url
from pipeline.store.models import LoginThrottle, User
from pipeline.store.users import add_user, end_sessions, set_disabled, set_password

T0 = datetime(2025, 3, 14, tzinfo=UTC)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = open_database(database_url)
    yield factory
    engine.dispose()


def keys(username: str = "officer", address: str = "10.0.0.7") -> list[login_throttle.ThrottleKey]:
    return login_throttle.login_keys(username, address, per_user_limit=5, per_address_limit=8)


def test_keys_never_name_a_user_alone() -> None:
    names = [k.key for k in keys("Officer", "10.0.0.7")]
    assert names == ["user-at:officer@10.0.0.7", "address:10.0.0.7"]


def test_five_attempts_then_refused_and_the_window_passes(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as db:
        for minute in range(5):
            now = T0 + timedelta(minutes=minute)
            assert login_throttle.reserve_attempt(db, keys(), now=now, window_s=900) is None
        refused = login_throttle.reserve_attempt(
            db, keys(), now=T0 + timedelta(minutes=5), window_s=900
        )
        assert refused is not None and refused.key.startswith("user-at:")
        # The refused attempt counted nowhere: the address still has 3 left of 8.
        address = db.get(LoginThrottle, "address:10.0.0.7")
        assert address is not None and address.failures == 5
        # The same name from another address is not throttled: nobody can lock an officer out.
        other = keys(address="10.0.0.8")
        assert login_throttle.reserve_attempt(db, other, now=T0, window_s=900) is None
        # 15 minutes after the window began it starts again.
        later = T0 + timedelta(minutes=15)
        assert login_throttle.reserve_attempt(db, keys(), now=later, window_s=900) is None


def test_only_the_first_refusal_of_a_window_is_reported(sessions: sessionmaker[Session]) -> None:
    with sessions() as db:
        for _ in range(5):
            login_throttle.reserve_attempt(db, keys(), now=T0, window_s=900)
        refused = login_throttle.reserve_attempt(db, keys(), now=T0, window_s=900)
        assert refused is not None
        firsts = [login_throttle.first_refusal(db, refused, now=T0, window_s=900) for _ in range(3)]
        assert firsts == [True, False, False]
        assert login_throttle.reserve_attempt(db, keys(), now=T0, window_s=900) is not None


def test_a_success_clears_the_name_but_gives_back_only_one_address_attempt(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as db:
        for name in ("alice", "bob", "carol"):
            login_throttle.reserve_attempt(db, keys(name), now=T0, window_s=900)
        login_throttle.reserve_attempt(db, keys("officer"), now=T0, window_s=900)
        login_throttle.login_succeeded(db, keys("officer"))
        assert db.get(LoginThrottle, "user-at:officer@10.0.0.7") is None
        address = db.get(LoginThrottle, "address:10.0.0.7")
        assert address is not None and address.failures == 3


def test_counters_of_past_windows_are_forgotten(sessions: sessionmaker[Session]) -> None:
    with sessions() as db:
        login_throttle.reserve_attempt(db, keys("alice"), now=T0, window_s=900)
        later = T0 + timedelta(minutes=10)
        login_throttle.reserve_attempt(db, keys("bob"), now=later, window_s=900)
        # At T0 + 16 min alice's counter is past its window; the address's and bob's
        # began at T0 and T0 + 10 min.
        now = T0 + timedelta(minutes=16)
        assert login_throttle.forget_expired(db, now=now, window_s=900) == 2
        left = set(db.scalars(select(LoginThrottle.key)))
        assert left == {"user-at:bob@10.0.0.7"}


def test_parallel_attempts_cannot_pass_the_limit_together(
    sessions: sessionmaker[Session],
) -> None:
    """Twenty simultaneous guesses, each in its own transaction: exactly five get through."""
    allowed: list[bool] = []
    barrier = threading.Barrier(20)
    lock = threading.Lock()

    def attempt() -> None:
        with sessions() as db:
            barrier.wait()
            verdict = login_throttle.reserve_attempt(db, keys(), now=T0, window_s=900) is None
            db.commit()
        with lock:
            allowed.append(verdict)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(allowed) == 20
    assert sum(allowed) == 5
    with sessions() as db:
        counter = db.get(LoginThrottle, "user-at:officer@10.0.0.7")
        assert counter is not None and counter.failures == 5


def _version(db: Session, name: str) -> int:
    return db.scalars(select(User.session_version).where(User.username == name)).one()


def test_password_change_disabling_and_logout_raise_the_session_version(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as db:
        user = add_user(db, "officer1", "first password", "police")
        db.commit()
        assert _version(db, "officer1") == 0
        set_password(db, "officer1", "second password")
        db.commit()
        assert _version(db, "officer1") == 1
        end_sessions(db, user)
        db.commit()
        assert user.session_version == 2 == _version(db, "officer1")
        set_disabled(db, "officer1")
        db.commit()
        assert _version(db, "officer1") == 3
        set_disabled(db, "officer1", False)  # enabling again revives no old session
        db.commit()
        assert _version(db, "officer1") == 3


def test_a_new_sqlite_database_is_private_to_its_owner(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        engine, _ = open_database(f"sqlite:///{tmp_path / 'db' / 'trafficcam.db'}")
        engine.dispose()
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "db").iterdir() if p.name.startswith("trafficcam.db")]
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_an_existing_sqlite_database_readable_by_others_is_made_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "trafficcam.db"
    engine, _ = open_database(f"sqlite:///{path}")
    engine.dispose()
    for file in (path, tmp_path / "trafficcam.db-wal"):
        file.touch()
        file.chmod(0o644)
    engine, _ = open_database(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 0
    engine.dispose()
    for file in tmp_path.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    assert "readable by others (mode 644)" in caplog.text


def test_the_database_password_stays_out_of_messages() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config({"database_url": "mysql://reviewer:s3cret-pw@db.example/trafficcam"})
    assert "database_url" in str(refused.value)
    assert "s3cret-pw" not in str(refused.value)
    url = "postgresql://reviewer:s3cret-pw@db.example:5432/trafficcam"
    assert redact_url(url) == "postgresql://reviewer:***@db.example:5432/trafficcam"
    assert "s3cret-pw" not in redact_url("postgresql://reviewer:s3cret-pw@db.example:bad/x")
    assert redact_url("sqlite:///var/lib/trafficcam.db") == "sqlite:///var/lib/trafficcam.db"


def test_migration_0009_goes_down_and_up_again(database_url: str) -> None:
    """The old plain-text secret row goes on the way up; the schema survives a round trip."""
    engine = make_engine(database_url)
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0008")
            connection.execute(
                text("INSERT INTO settings (key, value) VALUES ('session_secret', 'plain')")
            )
            command.upgrade(config, "head")
            assert connection.execute(text("SELECT count(*) FROM settings")).scalar() == 0
            command.downgrade(config, "0008")
            assert "login_failures" in inspect(connection).get_table_names()
            command.upgrade(config, "head")
            columns = {c["name"] for c in inspect(connection).get_columns("users")}
            assert "session_version" in columns
    finally:
        engine.dispose()
