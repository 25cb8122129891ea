"""Login, logout, sessions, roles and CSRF against the real app under uvicorn."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select

from pipeline.config import ReviewConfig
from pipeline.store.models import AuditEntry, Setting, Violation
from pipeline.store.users import set_disabled
from review_ui.app import SESSION_COOKIE, create_app
from review_ui.session_secret import (
    SECRET_ENV,
    SessionSecretError,
    default_secret_path,
    session_secret,
)
from tests.review_ui.conftest import PASSWORD, Seed, csrf_from, log_in, page_csrf, serve


def test_healthz_needs_no_login(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_openapi_lists_the_api(client: httpx.Client) -> None:
    assert log_in(client, "counter").status_code == 303
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/violations" in paths
    assert "/api/v1/violations/{violation_id}" in paths
    assert {"/api/v1/history", "/api/v1/history/counts"} <= set(paths)
    history_params = {p["name"] for p in paths["/api/v1/history"]["get"]["parameters"]}
    assert {"start", "end", "camera_id", "rule_type", "vehicle_class", "plate_prefix"} <= (
        history_params
    )


def test_login_sets_an_httponly_lax_session_cookie(client: httpx.Client, seed: Seed) -> None:
    response = log_in(client, "officer")
    assert response.status_code == 303
    assert response.headers["location"] == "/"  # home, which leads each role to its work
    cookie = next(
        value
        for value in response.headers.get_list("set-cookie")
        if value.startswith(SESSION_COOKIE + "=")
    )
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert client.get("/violations").status_code == 200
    with seed.session_factory() as db:
        actions = [e.action for e in db.scalars(select(AuditEntry))]
    assert "auth.login" in actions


@pytest.mark.parametrize(
    ("username", "password"), [("officer", "wrong password!"), ("nobody", PASSWORD)]
)
def test_wrong_credentials_are_refused(client: httpx.Client, username: str, password: str) -> None:
    response = log_in(client, username, password)
    assert response.status_code == 401
    assert "Wrong user name or password" in response.text or "Sai tên" in response.text
    assert client.get("/violations").status_code == 302


def test_wrong_password_message_in_english(client: httpx.Client) -> None:
    client.get("/language/en")
    response = log_in(client, "officer", "wrong password!")
    assert response.status_code == 401
    assert "Wrong user name or password" in response.text


@pytest.mark.parametrize("path", ["/", "/violations", "/violations/{id}", "/evidence/{id}/x.jpg"])
def test_pages_without_login_redirect_to_login(client: httpx.Client, seed: Seed, path: str) -> None:
    response = client.get(path.format(id=seed.violation_id))
    assert response.status_code == 302
    if path != "/":
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", ["/api/v1/violations", "/api/v1/violations/{id}"])
def test_api_without_login_is_401(client: httpx.Client, seed: Seed, path: str) -> None:
    response = client.get(path.format(id=seed.violation_id))
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("username", ["watcher", "counter"])
def test_other_roles_neither_view_nor_review(
    client: httpx.Client, seed: Seed, username: str
) -> None:
    assert log_in(client, username).status_code == 303
    assert client.get(f"/violations/{seed.violation_id}").status_code == 403
    assert client.get("/api/v1/violations").status_code == 403
    response = client.post(
        f"/violations/{seed.violation_id}/review",
        data={
            "csrf_token": csrf_from(client.get("/login").text),
            "decision": "confirmed",
            "reason": "evidence_clear",
        },
    )
    assert response.status_code == 403
    with seed.session_factory() as db:
        violation = db.get(Violation, seed.violation_id)
        assert violation is not None and violation.status == "pending"


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_review_post_without_the_sessions_csrf_token_is_403(
    client: httpx.Client, seed: Seed, token: str | None
) -> None:
    log_in(client, "officer")
    data = {"decision": "confirmed", "reason": "evidence_clear"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post(f"/violations/{seed.violation_id}/review", data=data)
    assert response.status_code == 403
    assert client.get("/api/v1/violations?status=confirmed").json() == []


def test_login_and_logout_need_csrf(client: httpx.Client) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "officer", "password": PASSWORD})
    assert response.status_code == 403
    assert log_in(client, "officer").status_code == 303
    assert client.post("/logout").status_code == 403
    assert client.get("/violations").status_code == 200
    logout = client.post("/logout", data={"csrf_token": page_csrf(client)})
    assert logout.status_code == 303
    assert client.get("/violations").status_code == 302


def test_login_token_from_before_login_is_replaced(client: httpx.Client) -> None:
    before = csrf_from(client.get("/login").text)
    log_in(client, "officer")
    assert page_csrf(client) != before


@pytest.mark.parametrize(
    ("next_page", "expected"),
    [
        ("/violations?status=all", "/violations?status=all"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_login_redirects_only_to_local_pages(
    client: httpx.Client, next_page: str, expected: str
) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={
            "username": "officer",
            "password": PASSWORD,
            "csrf_token": token,
            "next": next_page,
        },
    )
    assert response.headers["location"] == expected


def test_disabled_account_loses_its_session(client: httpx.Client, seed: Seed) -> None:
    log_in(client, "officer")
    assert client.get("/violations").status_code == 200
    with seed.session_factory() as db:
        set_disabled(db, "officer")
        db.commit()
    assert client.get("/violations").status_code == 302
    assert client.get("/api/v1/violations").status_code == 401


def test_security_headers(client: httpx.Client) -> None:
    response = client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_generated_session_secret_is_an_owner_only_file_not_a_database_row(
    seed: Seed, app: FastAPI
) -> None:
    """Created by the app's first start."""
    path = default_secret_path(seed.config)
    assert path.parent == seed.evidence_root.parent / "keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text().strip()
    assert len(secret) >= 32
    assert session_secret(seed.config) == secret
    with seed.session_factory() as db:
        values = [row.value for row in db.scalars(select(Setting))]
        assert db.get(Setting, "session_secret") is None
    assert secret not in values


def test_secret_from_the_environment_wins_and_must_be_long(
    seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "e" * 40)
    assert session_secret(seed.config) == "e" * 40
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(SessionSecretError, match=SECRET_ENV):
        create_app(seed.config, session_factory=seed.session_factory)


def test_configured_secret_needs_32_characters() -> None:
    with pytest.raises(ValidationError, match="session_secret"):
        ReviewConfig(session_secret="s" * 20)
    assert ReviewConfig(session_secret="s" * 32).session_secret == "s" * 32
    assert "s" * 32 not in repr(ReviewConfig(session_secret="s" * 32))


def test_secret_file_readable_by_others_is_refused(seed: Seed, tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("f" * 40)
    path.chmod(0o644)
    config = seed.config.model_copy(
        update={"review": seed.config.review.model_copy(update={"session_secret_file": path})}
    )
    with pytest.raises(SessionSecretError, match="review.session_secret_file.*chmod 600"):
        session_secret(config)
    path.chmod(0o600)
    assert session_secret(config) == "f" * 40
    # A missing file is created, owner-only, with a generated key.
    fresh = tmp_path / "new" / "secret"
    config = seed.config.model_copy(
        update={"review": seed.config.review.model_copy(update={"session_secret_file": fresh})}
    )
    assert len(session_secret(config)) >= 32
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_cookie_survives_an_app_restart(seed: Seed, client: httpx.Client) -> None:
    """A second app on the same database (a restart) accepts the first one's cookie."""
    log_in(client, "officer")
    cookie = client.cookies[SESSION_COOKIE]
    restarted = create_app(seed.config, session_factory=seed.session_factory)
    with (
        serve(restarted) as live,
        httpx.Client(base_url=live.url, follow_redirects=False) as again,
    ):
        again.cookies.set(SESSION_COOKIE, cookie)
        assert again.get("/violations").status_code == 200
