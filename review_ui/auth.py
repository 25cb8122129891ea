"""Who is asking, and may they: session login, role checks and CSRF tokens.

The signed session cookie carries only the user id, the CSRF token and the UI
language. The user row is read again on every request, so disabling an account
or changing its role takes effect at once rather than when the cookie expires.
"""

from __future__ import annotations

import hmac
import secrets
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
_SESSION_CSRF = "csrf"


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
    request.session[_SESSION_CSRF] = secrets.token_urlsafe(32)
    if language:
        request.session["lang"] = language


def log_out(request: Request) -> None:
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language


def current_user(request: Request, db: SessionDep) -> User:
    """The logged-in, enabled user.

    Raises:
        LoginRequired: no login, or the account was removed or disabled since.
    """
    user_id = request.session.get(_SESSION_USER)
    if not isinstance(user_id, int):
        raise LoginRequired
    user = db.get(User, user_id)
    if user is None or user.disabled:
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
            if isinstance(request.session.get(_SESSION_USER), int):
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
