"""Who is asking, and may they: session login, role checks and CSRF tokens.

The signed session cookie carries the user id, the user's session version and
the time the session was issued, the CSRF token and the UI language. The user
row is read again on every request, so disabling an account or changing its
role takes effect at once rather than when the cookie expires. A session ends
8 hours after it was issued, however busy it was (nothing refreshes the issue
time), and at once when its user logs out anywhere, changes password or is
disabled: each raises the user's `session_version`, which no older cookie has.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from pipeline.store.api_tokens import TOKEN_ROLES, token_holder
from pipeline.store.models import ApiToken, User
from pipeline.store.users import ROLES
from review_ui.deps import SessionDep

# Everyone with an account may look at violations; only officers decide them.
VIEW_ROLES: tuple[str, ...] = ROLES
REVIEW_ROLES: tuple[str, ...] = ("police", "admin")
ANALYST_ROLES: tuple[str, ...] = ("analyst", "admin")
OPERATOR_ROLES: tuple[str, ...] = ("operator", "admin")
ADMIN_ROLES: tuple[str, ...] = ("admin",)

CSRF_FIELD = "csrf_token"
_SESSION_USER = "uid"
SESSION_VERSION = "sv"
_SESSION_ISSUED = "iat"
_SESSION_CSRF = "csrf"
# A shift: an officer logs in again the next day rather than staying signed in for weeks.
# Counted from login, not from the last request, so a copied cookie cannot be kept alive.
SESSION_MAX_AGE_S = 8 * 3600
# The audit actor of login attempts: the user name typed is the guesser's choice, not
# who acted. Parentheses are not allowed in user names, so no account can be called this.
ANONYMOUS = "(anonymous)"


class LoginRequired(Exception):
    """No valid login; pages answer with a redirect to /login, the API with 401."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(_SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[_SESSION_CSRF] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Reject a form POST whose token is missing or not this session's.

    Raises:
        HTTPException: 403.
    """
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get(_SESSION_CSRF)
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not expected
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong")


def log_in(request: Request, user: User) -> None:
    """Start a fresh session for `user`.

    The old session is dropped and a new CSRF token issued, so a token or
    cookie planted before login (session fixation) is worthless after it.
    """
    language = request.session.get("lang")
    request.session.clear()
    request.session[_SESSION_USER] = user.id
    request.session[SESSION_VERSION] = user.session_version
    request.session[_SESSION_ISSUED] = int(time.time())
    request.session[_SESSION_CSRF] = secrets.token_urlsafe(32)
    if language:
        request.session["lang"] = language


def log_out(request: Request) -> None:
    """Forget the login in this browser (keeping its language)."""
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language


def session_user_id(request: Request) -> int | None:
    """The user id of a session still within its 8 hours, else None (the cookie's own
    signature and the session version are checked elsewhere)."""
    user_id = request.session.get(_SESSION_USER)
    issued = request.session.get(_SESSION_ISSUED)
    if not isinstance(user_id, int) or not isinstance(issued, int):
        return None
    age = time.time() - issued
    # A little slack for clocks of several UI processes; a cookie from the future is forged
    # with the secret or made on a badly wrong clock: refuse it either way.
    if age >= SESSION_MAX_AGE_S or age < -300:
        return None
    return user_id


def current_user(request: Request, db: SessionDep) -> User:
    """The logged-in, enabled user whose session has not been ended.

    Raises:
        LoginRequired: no login, the session is past its 8 hours, the user logged
            out elsewhere, changed password, or was removed or disabled since.
    """
    user_id = session_user_id(request)
    if user_id is None:
        if request.session.get(_SESSION_USER) is not None:
            log_out(request)
        raise LoginRequired
    user = db.get(User, user_id)
    if (
        user is None
        or user.disabled
        or request.session.get(SESSION_VERSION) != user.session_version
    ):
        log_out(request)
        raise LoginRequired
    return user


CurrentUser = Annotated[User, Depends(current_user)]


class RoleCheck:
    """A dependency that lets through only users holding one of `roles`.

    The roles stay readable on the object (`route_roles`), so a test can list
    what every route allows without keeping a second copy of the rules.
    """

    def __init__(self, *roles: str) -> None:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; known: {', '.join(ROLES)}")
        self.roles = tuple(roles)

    def __call__(self, user: CurrentUser) -> User:
        if user.role not in self.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Your role may not do this")
        return user


class PublicRoute:
    """Marks a route open to everyone, logged in or not (login, language, health)."""

    roles: tuple[str, ...] = ("anonymous", *ROLES)

    def __call__(self) -> None:
        return None


public_route = PublicRoute()


class TokenRoleCheck:
    """A dependency for machine clients: `Authorization: Bearer <token>`, the token
    holding one of `roles` (see `trafficcam tokens add`).

    A browser session never counts here: a controller's request carries no cookie,
    and a logged-in person is not a controller. No CSRF check is needed either, as
    browsers never add an Authorization header by themselves.
    """

    def __init__(self, *roles: str) -> None:
        unknown = set(roles) - set(TOKEN_ROLES)
        if unknown:
            raise ValueError(f"unknown token roles {sorted(unknown)}; known: {TOKEN_ROLES}")
        self.roles = tuple(roles)

    def __call__(self, request: Request, db: SessionDep) -> ApiToken:
        header = request.headers.get("authorization")
        if header is None:
            if session_user_id(request) is not None:
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    f"this API takes a bearer token of role {' or '.join(self.roles)}, not a login",
                )
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "Authorization: Bearer <token> required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        scheme, _, token = header.partition(" ")
        holder = token_holder(db, token.strip()) if scheme.lower() == "bearer" else None
        if holder is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unknown or revoked token (Authorization must be 'Bearer <token>')",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if holder.role not in self.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this token's role may not do this")
        return holder


def require_roles(*roles: str) -> RoleCheck:
    """A dependency for routes open to `roles` only.

    Example:
        >>> Officer = Annotated[User, Depends(require_roles("police", "admin"))]
    """
    return RoleCheck(*roles)


def route_roles(dependant: Any) -> tuple[str, ...] | None:
    """The roles a route declares: those of its `RoleCheck` or `PublicRoute` (None: undeclared).

    Args:
        dependant: a route's `dependant` (FastAPI's resolved dependency tree).
    """
    stack = [dependant]
    while stack:
        node = stack.pop()
        if isinstance(node.call, RoleCheck | PublicRoute | TokenRoleCheck):
            return node.call.roles
        stack.extend(node.dependencies)
    return None


Viewer = Annotated[User, Depends(require_roles(*VIEW_ROLES))]
Reviewer = Annotated[User, Depends(require_roles(*REVIEW_ROLES))]
Analyst = Annotated[User, Depends(require_roles(*ANALYST_ROLES))]
Operator = Annotated[User, Depends(require_roles(*OPERATOR_ROLES))]
Admin = Annotated[User, Depends(require_roles(*ADMIN_ROLES))]
SignalController = Annotated[ApiToken, Depends(TokenRoleCheck("signal-controller"))]
