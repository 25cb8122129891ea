"""An officer's review in a real Chromium against the real app under uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.review_ui.conftest import IMAGE_KINDS, PASSWORD, SCREENSHOTS, LiveServer, Seed

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def tab(chromium: Browser, server: LiveServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the live app."""
    context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    # Every request stays on the app: a stray CDN or font fetch would show up as a failure here.
    foreign: list[str] = []
    context.on(
        "request",
        lambda request: None if request.url.startswith(server.url) else foreign.append(request.url),
    )
    page = context.new_page()
    yield page
    context.close()
    assert foreign == []


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"review_ui-{name}.png"), full_page=True)


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")


def test_officer_confirms_a_violation(tab: Page, seed: Seed) -> None:
    tab.goto("/language/en")
    log_in(tab, "officer", PASSWORD)
    expect(tab.locator("#current-user")).to_have_text("officer")
    row = tab.locator(f"tr[data-violation-id='{seed.violation_id}']")
    expect(row).to_be_visible()
    thumb = row.locator("img.thumb")
    expect(thumb).to_be_visible()
    tab.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    shot(tab, "violations")

    row.locator("a").first.click()
    expect(tab.locator("#violation-status")).to_have_text("pending")
    images = tab.locator("img.evidence-image")
    expect(images).to_have_count(len(IMAGE_KINDS))
    for index in range(len(IMAGE_KINDS)):
        handle = images.nth(index).element_handle()
        tab.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle)
    kinds = images.evaluate_all("imgs => imgs.map(img => img.dataset.kind)")
    assert sorted(kinds) == sorted(IMAGE_KINDS)
    shot(tab, "violation-pending")

    tab.select_option("#reason", "evidence_clear")
    tab.fill("#plate-correction", "29A-123.46")
    tab.click("button.confirm")
    expect(tab.locator("#violation-status")).to_have_text("confirmed")
    expect(tab.locator("#violation-plate")).to_contain_text("29A-123.46")
    expect(tab.locator("table.reviews")).to_contain_text("Evidence clear")
    shot(tab, "violation-confirmed")


def test_wrong_password_is_refused(tab: Page) -> None:
    tab.goto("/language/en")
    log_in(tab, "officer", "not the password")
    expect(tab.locator("#login-error")).to_have_text("Wrong user name or password")
    shot(tab, "login-refused")
    tab.goto("/violations")
    expect(tab).to_have_url("/login?next=%2Fviolations")


def test_login_page_in_vietnamese(tab: Page) -> None:
    tab.goto("/login")
    expect(tab.locator("h1")).to_have_text("Đăng nhập")
    shot(tab, "login-vi")
