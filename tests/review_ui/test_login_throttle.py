"""Login throttling: five wrong passwords per account or per client address, kept in the DB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from pipeline.store import queries
from review_ui.app import create_app
from tests.review_ui.conftest import PASSWORD, LiveServer, Seed, log_in, serve


def from_address(url: str, address: str) -> httpx.Client:
    """A client whose connections come from `address` (any 127.x address is local on Linux)."""
    return httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=address))


def test_five_wrong_passwords_throttle_the_account(server: LiveServer, seed: Seed) -> None:
    with from_address(server.url, "127.0.0.1") as http:
        for _ in range(5):
            assert log_in(http, "officer", "wrong password!").status_code == 401
        # Now even the right password is refused, and no session is issued.
        throttled = log_in(http, "officer", PASSWORD)
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) > 0
        assert http.get("/violations", follow_redirects=False).status_code == 302
    # The account stays throttled from another address; other accounts there are not.
    with from_address(server.url, "127.0.0.2") as http:
        assert log_in(http, "officer", PASSWORD).status_code == 429
        assert log_in(http, "deputy", PASSWORD).status_code == 303
    # A second UI process on the same database (another worker) refuses it too.
    other_worker = create_app(seed.config, session_factory=seed.session_factory)
    with serve(other_worker) as live, from_address(live.url, "127.0.0.3") as http:
        assert log_in(http, "officer", PASSWORD).status_code == 429


def test_five_failures_from_one_address_throttle_every_account(server: LiveServer) -> None:
    with from_address(server.url, "127.0.0.4") as http:
        for name in ("alice", "bob", "carol", "dave", "erin"):
            assert log_in(http, name, "guess-123").status_code == 401
        assert log_in(http, "deputy", PASSWORD).status_code == 429
    with from_address(server.url, "127.0.0.5") as http:
        assert log_in(http, "deputy", PASSWORD).status_code == 303


def test_a_right_password_resets_the_count(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        for _ in range(4):
            assert log_in(http, "officer", "wrong password!").status_code == 401
        assert log_in(http, "officer", PASSWORD).status_code == 303
        for _ in range(4):
            assert log_in(http, "officer", "wrong password!").status_code == 401
        assert log_in(http, "officer", PASSWORD).status_code == 303


def test_throttle_message_in_english(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        http.get("/language/en")
        for _ in range(5):
            log_in(http, "officer", "wrong password!")
        assert "Too many wrong passwords" in log_in(http, "officer", PASSWORD).text


def test_failures_older_than_the_window_do_not_count(seed: Seed) -> None:
    t0 = datetime(2025, 3, 14, tzinfo=UTC)
    keys = queries.login_keys("Officer", "10.0.0.7")
    assert keys == ["user:officer", "client:10.0.0.7"]
    with seed.session_factory() as db:
        for minute in range(5):
            queries.record_login_failure(db, keys, now=t0 + timedelta(minutes=minute), window_s=900)
        db.flush()
        limits = {"window_s": 900, "max_failures": 5}
        assert queries.login_throttled(db, keys, now=t0 + timedelta(minutes=5), **limits)
        # 15 minutes after the first failure only four are inside the window.
        assert not queries.login_throttled(db, keys, now=t0 + timedelta(minutes=15), **limits)
        assert not queries.login_throttled(db, ["user:deputy"], now=t0, **limits)
