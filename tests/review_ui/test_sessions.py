"""Sessions end: 8 hours after login whatever happens meanwhile, and at once on logout
(everywhere), password change or disabling; a copied cookie dies with them."""

from __future__ import annotations

import json
import time
from base64 import b64encode
from collections.abc import Mapping

import httpx
import itsdangerous
from sqlalchemy import select

from pipeline.store.models import AuditEntry, User
from pipeline.store.users import set_password
from review_ui.app import SESSION_COOKIE
from review_ui.auth import SESSION_MAX_AGE_S
from review_ui.session_secret import session_secret
from tests.review_ui.conftest import LiveServer, Seed, log_in, page_csrf


def copy_of(http: httpx.Client, server: LiveServer) -> httpx.Client:
    """Another browser holding a copy of `http`'s session cookie (a shared PC's)."""
    other = httpx.Client(base_url=server.url, follow_redirects=False, timeout=10)
    other.cookies.set(SESSION_COOKIE, http.cookies[SESSION_COOKIE])
    return other


def forged_cookie(seed: Seed, session: Mapping[str, object]) -> str:
    """A cookie signed now with the app's real key, holding `session`."""
    signer = itsdangerous.TimestampSigner(session_secret(seed.config))
    return signer.sign(b64encode(json.dumps(session).encode())).decode()


def officer(seed: Seed) -> User:
    with seed.session_factory() as db:
        return db.scalars(select(User).where(User.username == "officer")).one()


def test_logout_ends_a_copied_cookie_too(client: httpx.Client, server: LiveServer) -> None:
    assert log_in(client, "officer").status_code == 303
    with copy_of(client, server) as shared_pc:
        assert shared_pc.get("/violations").status_code == 200
        client.post("/logout", data={"csrf_token": page_csrf(client)})
        assert shared_pc.get("/violations").status_code == 302
        assert shared_pc.get("/api/v1/violations").status_code == 401
    # Logging in again works, with a new session.
    assert log_in(client, "officer").status_code == 303
    assert client.get("/violations").status_code == 200


def test_password_change_ends_every_session(
    client: httpx.Client, server: LiveServer, seed: Seed
) -> None:
    assert log_in(client, "officer").status_code == 303
    with copy_of(client, server) as shared_pc:
        with seed.session_factory() as db:
            set_password(db, "officer", "a brand new password")
            db.commit()
        assert client.get("/violations").status_code == 302
        assert shared_pc.get("/violations").status_code == 302
    assert log_in(client, "officer", "a brand new password").status_code == 303


def test_another_users_logout_leaves_this_session(client: httpx.Client, server: LiveServer) -> None:
    assert log_in(client, "officer").status_code == 303
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10) as deputy:
        assert log_in(deputy, "deputy").status_code == 303
        deputy.post("/logout", data={"csrf_token": page_csrf(deputy)})
    assert client.get("/violations").status_code == 200


def test_session_ends_eight_hours_after_login_even_if_refreshed(
    server: LiveServer, seed: Seed
) -> None:
    user = officer(seed)
    base = {"uid": user.id, "sv": user.session_version, "csrf": "x" * 43, "lang": "en"}
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10) as http:
        # Issued 7 h 59 min ago, signed just now: still valid.
        fresh = base | {"iat": int(time.time()) - SESSION_MAX_AGE_S + 60}
        http.cookies.set(SESSION_COOKIE, forged_cookie(seed, fresh))
        assert http.get("/violations").status_code == 200
        # Issued 8 h ago: the cookie's signature is minutes old (the public language
        # switch re-signs it), but the session is over.
        old = base | {"iat": int(time.time()) - SESSION_MAX_AGE_S - 1}
        http.cookies.set(SESSION_COOKIE, forged_cookie(seed, old))
        assert http.get("/language/vi").status_code == 303
        assert http.get("/violations").status_code == 302
        assert http.get("/api/v1/violations").status_code == 401


def test_cookie_without_issue_time_or_version_is_refused(server: LiveServer, seed: Seed) -> None:
    """A cookie of the old form (user id only) no longer logs anyone in."""
    user = officer(seed)
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10) as http:
        http.cookies.set(SESSION_COOKIE, forged_cookie(seed, {"uid": user.id, "csrf": "x"}))
        assert http.get("/violations").status_code == 302
        stale = {"uid": user.id, "sv": user.session_version - 1, "iat": int(time.time())}
        http.cookies.set(SESSION_COOKIE, forged_cookie(seed, stale))
        assert http.get("/violations").status_code == 302


def test_logout_is_audited(client: httpx.Client, seed: Seed) -> None:
    assert log_in(client, "officer").status_code == 303
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    with seed.session_factory() as db:
        entries = [(e.actor, e.action) for e in db.scalars(select(AuditEntry))]
    assert ("officer", "auth.logout") in entries
