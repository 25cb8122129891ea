"""Login throttling: per user name at an address and per address, kept in the DB, keyed
on the real client address (X-Forwarded-For only from trusted proxies)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from pipeline.store.models import AuditEntry
from review_ui.app import create_app
from review_ui.auth import ANONYMOUS
from tests.review_ui.conftest import PASSWORD, LiveServer, Seed, log_in, serve


def from_address(url: str, address: str) -> httpx.Client:
    """A client whose connections come from `address` (any 127.x address is local on Linux)."""
    return httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=address))


def _served(seed: Seed, **review: object) -> Iterator[LiveServer]:
    config = seed.config.model_copy(update={"review": seed.config.review.model_copy(update=review)})
    with serve(create_app(config, session_factory=seed.session_factory)) as live:
        yield live


@pytest.fixture
def behind_proxy(seed: Seed) -> Iterator[LiveServer]:
    """The UI behind a reverse proxy at 127.0.0.9 (plain http, so this client keeps cookies
    that proxied requests would otherwise mark Secure)."""
    yield from _served(seed, trusted_proxies=["127.0.0.9/32"], secure_cookies="never")


def test_five_wrong_passwords_throttle_the_name_at_that_address_only(
    server: LiveServer, seed: Seed
) -> None:
    with from_address(server.url, "127.0.0.1") as http:
        for _ in range(5):
            assert log_in(http, "officer", "wrong password!").status_code == 401
        # Now even the right password is refused here, and no session is issued.
        throttled = log_in(http, "officer", PASSWORD)
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) > 0
        assert http.get("/violations", follow_redirects=False).status_code == 302
    # Whoever guessed cannot lock the officer out: from the officer's own PC it works.
    with from_address(server.url, "127.0.0.2") as http:
        assert log_in(http, "officer", PASSWORD).status_code == 303
    # A second UI process on the same database (another worker) refuses the guesser too.
    other_worker = create_app(seed.config, session_factory=seed.session_factory)
    with serve(other_worker) as live, from_address(live.url, "127.0.0.1") as http:
        assert log_in(http, "officer", PASSWORD).status_code == 429


def test_many_names_from_one_address_throttle_the_address(seed: Seed) -> None:
    for live in _served(seed, login_max_failures_per_address=6):
        with from_address(live.url, "127.0.0.4") as http:
            for name in ("alice", "bob", "carol", "dave", "erin", "frank"):
                assert log_in(http, name, "guess-123").status_code == 401
            assert log_in(http, "deputy", PASSWORD).status_code == 429
        with from_address(live.url, "127.0.0.5") as http:
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


def test_guesses_are_audited_as_anonymous_and_refusals_once(server: LiveServer, seed: Seed) -> None:
    with httpx.Client(base_url=server.url) as http:
        for _ in range(5):
            log_in(http, "chief", "wrong password!")
        for _ in range(10):
            assert log_in(http, "chief", "wrong password!").status_code == 429
    with seed.session_factory() as db:
        entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action != "auth.login")))
    # The name typed is data, never the actor: the chief did none of this.
    assert {e.actor for e in entries} == {ANONYMOUS}
    assert all(e.detail["username"] == "chief" for e in entries)
    actions = [e.action for e in entries]
    assert actions.count("auth.login_failed") == 5
    assert actions.count("auth.login_throttled") == 1


def test_forwarded_for_is_ignored_from_an_untrusted_peer(seed: Seed) -> None:
    """A guesser cannot dodge the throttle by writing a new X-Forwarded-For each time."""
    for live in _served(seed, secure_cookies="never"):
        with from_address(live.url, "127.0.0.6") as http:
            for n in range(5):
                http.headers["x-forwarded-for"] = f"203.0.113.{n}"
                assert log_in(http, "officer", "wrong password!").status_code == 401
            http.headers["x-forwarded-for"] = "203.0.113.99"
            assert log_in(http, "officer", PASSWORD).status_code == 429


def test_clients_behind_a_trusted_proxy_are_told_apart(behind_proxy: LiveServer) -> None:
    with from_address(behind_proxy.url, "127.0.0.9") as proxy:
        # A client that forges a first hop is still keyed on what the proxy saw.
        proxy.headers["x-forwarded-for"] = "198.51.100.1, 203.0.113.5"
        for _ in range(5):
            assert log_in(proxy, "officer", "wrong password!").status_code == 401
        assert log_in(proxy, "officer", PASSWORD).status_code == 429
        # Another officer's browser behind the same proxy is not affected.
        proxy.cookies.clear()
        proxy.headers["x-forwarded-for"] = "203.0.113.6"
        assert log_in(proxy, "officer", PASSWORD).status_code == 303
