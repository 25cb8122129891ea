"""The session cookie's Secure flag and HSTS under review.secure_cookies, against the real
app under uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pipeline.config import ReviewConfig
from review_ui.app import SESSION_COOKIE, create_app
from tests.review_ui.conftest import LiveServer, Seed, csrf_from, serve


@pytest.fixture(params=["auto", "always", "never"])
def mode_server(request: pytest.FixtureRequest, seed: Seed) -> Iterator[tuple[str, LiveServer]]:
    mode = request.param
    config = seed.config.model_copy(
        update={"review": seed.config.review.model_copy(update={"secure_cookies": mode})}
    )
    with serve(create_app(config, session_factory=seed.session_factory)) as live:
        yield mode, live


def login_cookie(url: str, headers: dict[str, str]) -> tuple[str, httpx.Response]:
    """The session cookie's Set-Cookie line from the login page, asked with `headers`."""
    with httpx.Client(base_url=url, follow_redirects=False, timeout=10) as http:
        response = http.get("/login", headers=headers)
        csrf_from(response.text)
    line = next(
        value
        for value in response.headers.get_list("set-cookie")
        if value.startswith(SESSION_COOKIE + "=")
    )
    return line, response


def secure(line: str) -> bool:
    return any(part.strip().lower() == "secure" for part in line.split(";")[1:])


CASES = {
    # a browser on this machine, plain http: the local demo
    "local": {},
    # the same port reached by name from elsewhere (or DNS pointing here)
    "by name": {"host": "review.example.vn"},
    # through a reverse proxy on this machine
    "proxied": {"x-forwarded-for": "203.0.113.5", "x-forwarded-proto": "https"},
}
EXPECTED = {
    "auto": {"local": False, "by name": True, "proxied": True},
    "always": {"local": True, "by name": True, "proxied": True},
    "never": {"local": False, "by name": False, "proxied": False},
}


@pytest.mark.parametrize("case", list(CASES))
def test_secure_flag_and_hsts(mode_server: tuple[str, LiveServer], case: str) -> None:
    mode, live = mode_server
    line, response = login_cookie(live.url, CASES[case])
    want = EXPECTED[mode][case]
    assert secure(line) is want, line
    assert "httponly" in line.lower()
    hsts = response.headers.get("strict-transport-security")
    assert (hsts is not None) is want
    if want:
        assert "max-age=31536000" in hsts


def test_default_is_auto() -> None:
    assert ReviewConfig().secure_cookies == "auto"
