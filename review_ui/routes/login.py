"""Login, logout and the UI language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pipeline.store import login_throttle, repository
from pipeline.store.models import User, utcnow
from pipeline.store.users import authenticate, end_sessions
from review_ui.auth import (
    ANONYMOUS,
    SESSION_VERSION,
    log_in,
    log_out,
    public_route,
    session_user_id,
    verify_csrf,
)
from review_ui.client_address import client_address
from review_ui.deps import ConfigDep, SessionDep
from review_ui.i18n import LANGUAGES
from review_ui.templating import templates

# Login, logout and the language switch must work before anyone has logged in.
router = APIRouter(include_in_schema=False, dependencies=[Depends(public_route)])

HOME = "/"
# Where "/" leads each role: the part of the UI its work is in (operators and analysts
# may not open violations or their evidence).
LANDING = {
    "police": "/violations",
    "admin": "/violations",
    "operator": "/cameras",
    "analyst": "/history",
}


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the home page.

    Only local paths are followed so a crafted `?next=//evil.example` link
    cannot turn the login page into an open redirect.
    """
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 32 for ch in target)
    ):
        return HOME
    return target


def _refused(
    request: Request,
    next: str | None,
    username: str,
    error: str,
    status_code: int,
    headers: dict[str, str] | None = None,
) -> Response:
    """The login page again, with the reason the attempt was refused."""
    return templates.TemplateResponse(
        request,
        "login.html",
        {"next": safe_next(next), "error": error, "username": username},
        status_code=status_code,
        headers=headers,
    )


@router.get("/", response_class=RedirectResponse)
def home(request: Request, db: SessionDep) -> RedirectResponse:
    """The logged-in user's landing page; anyone else is sent on toward the login."""
    user_id = session_user_id(request)
    user = db.get(User, user_id) if user_id is not None else None
    target = LANDING.get(user.role, "/violations") if user is not None else "/violations"
    return RedirectResponse(target, status_code=status.HTTP_302_FOUND)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"next": safe_next(next), "error": None, "username": ""}
    )


@router.post("/login", dependencies=[Depends(verify_csrf)])
def login(
    request: Request,
    db: SessionDep,
    config: ConfigDep,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = HOME,
) -> Response:
    review = config.review
    now = utcnow()
    keys = login_throttle.login_keys(
        username,
        client_address(request, request.app.state.trusted_proxies),
        per_user_limit=review.login_max_failures,
        per_address_limit=review.login_max_failures_per_address,
    )
    # Counted before the password is checked (and committed at once, so the row lock
    # is not held through argon2): parallel guesses cannot all pass the check, and a
    # guess that happens to be right is refused too while its key is throttled.
    refused_by = login_throttle.reserve_attempt(db, keys, now=now, window_s=review.login_window_s)
    if refused_by is not None:
        # The name is the guesser's choice: never the actor, and audited once per window.
        if login_throttle.first_refusal(db, refused_by, now=now, window_s=review.login_window_s):
            repository.audit(
                db,
                actor=ANONYMOUS,
                action="auth.login_throttled",
                subject=refused_by.key[:100],
                username=username[:80],
            )
        db.commit()
        return _refused(
            request,
            next,
            username,
            "too_many_attempts",
            status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(int(review.login_window_s))},
        )
    db.commit()
    user = authenticate(db, username, password)
    if user is None:
        # Counters of past windows would restart at 1 anyway; dropping them here keeps
        # the table as small as the guessing of the last window.
        login_throttle.forget_expired(db, now=now, window_s=review.login_window_s)
        repository.audit(
            db,
            actor=ANONYMOUS,
            action="auth.login_failed",
            subject=f"user:{username[:80]}",
            username=username[:80],
        )
        db.commit()
        return _refused(request, next, username, "wrong_credentials", status.HTTP_401_UNAUTHORIZED)
    # A right password forgets this name's failures at this address: an officer who
    # mistyped earlier in the shift is not locked out by their own old typos.
    login_throttle.login_succeeded(db, keys)
    repository.audit(db, actor=user.username, action="auth.login", subject=f"user:{user.username}")
    # authenticate() may have upgraded the password hash; keep it with the audit entry.
    db.commit()
    log_in(request, user)
    return RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request, db: SessionDep) -> RedirectResponse:
    """Log out here and end every other session of this user: a cookie copied from a
    shared PC (or left in another browser) stops working too."""
    user_id = session_user_id(request)
    user = db.get(User, user_id) if user_id is not None else None
    if user is not None and request.session.get(SESSION_VERSION) == user.session_version:
        end_sessions(db, user)
        repository.audit(
            db, actor=user.username, action="auth.logout", subject=f"user:{user.username}"
        )
        db.commit()
    log_out(request)
    return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/language/{language}")
def set_language(request: Request, language: str, next: str | None = None) -> RedirectResponse:
    """Remember the UI language in the session; an unknown code is ignored."""
    if language in LANGUAGES:
        request.session["lang"] = language
    return RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
