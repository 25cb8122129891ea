"""Keep the session cookie off plain http: the `Secure` flag and HSTS.

A session cookie sent once over plain http can be read by anyone on the path
(a café's Wi-Fi, a shared office network) and replayed. `review.secure_cookies`:

* `always`: every cookie is marked Secure and every answer carries
  `Strict-Transport-Security`, so browsers use https only from then on;
* `never`: neither (plain-http test set-ups only);
* `auto` (default): as `always`, except a plain-http request addressed to this
  machine (Host localhost, 127.x or ::1, from a loopback peer, no proxy
  headers): a demo on one's own PC. Any request from elsewhere, or through a
  proxy, gets the Secure cookie, so serving plain http on a network cannot
  log anyone in: put a TLS proxy in front (see README, "Review UI").
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SecureCookies = Literal["auto", "always", "never"]
HSTS = b"max-age=31536000"
_PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded")


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """The name in a Host header, without its port (IPv6 in brackets kept whole)."""
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def local_plain_http(scope: Scope) -> bool:
    """True for a plain-http request from and to this machine, not through a proxy."""
    if scope.get("scheme") == "https":
        return False
    headers = Headers(scope=scope)
    if any(name in headers for name in _PROXY_HEADERS):
        return False
    client = scope.get("client")
    peer = client[0] if client else ""
    return _loopback(peer) and _loopback(_host_name(headers.get("host", "")))


def _has_secure(set_cookie: bytes) -> bool:
    attributes = set_cookie.split(b";")[1:]
    return any(attribute.strip().lower() == b"secure" for attribute in attributes)


def wants_secure(mode: SecureCookies, scope: Scope) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    return not local_plain_http(scope)


class SecureTransport:
    """Adds `; Secure` to every Set-Cookie and sends HSTS, unless `mode` says not to."""

    def __init__(self, app: ASGIApp, mode: SecureCookies) -> None:
        self.app = app
        self.mode = mode

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not wants_secure(self.mode, scope):
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"set-cookie" and not _has_secure(value):
                        value += b"; secure"
                    headers.append((name, value))
                if all(name.lower() != b"strict-transport-security" for name, _ in headers):
                    headers.append((b"strict-transport-security", HSTS))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_secure)
