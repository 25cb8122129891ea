"""An officer's review in a real Chromium against the real app under uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from pipeline.store.hashing import sha256_file
from pipeline.store.models import EvidenceItem
from tests.review_ui.conftest import IMAGE_KINDS, PASSWORD, LiveServer, Seed, shot

pytestmark = pytest.mark.browser


class Tabs:
    """Browser contexts (separate cookie jars: separate people) on the live app."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[BrowserContext] = []
        # Every request stays on the app: a stray CDN or font fetch shows up as a failure.
        self.foreign: list[str] = []

    def open(self) -> Page:
        context = self.browser.new_context(
            base_url=self.server.url, viewport={"width": 1280, "height": 900}
        )
        context.on(
            "request",
            lambda request: (
                None
                if request.url.startswith(self.server.url)
                else self.foreign.append(request.url)
            ),
        )
        self.contexts.append(context)
        return context.new_page()


@pytest.fixture
def tabs(chromium: Browser, server: LiveServer) -> Iterator[Tabs]:
    opened = Tabs(chromium, server)
    yield opened
    for context in opened.contexts:
        context.close()
    assert opened.foreign == []


@pytest.fixture
def tab(tabs: Tabs) -> Page:
    """A fresh browser context (no cookies) on the live app."""
    return tabs.open()


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")


def wait_for_images(page: Page, selector: str) -> None:
    images = page.locator(selector)
    for index in range(images.count()):
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=images.nth(index).element_handle()
        )


def decode_qr(image: np.ndarray) -> str:
    """The text of the QR code in `image`, or "" when no reader finds one.

    OpenCV's finder-pattern search misses a few percent of valid codes at any one
    scale (which ones depends on the text, here the server's port), so it is asked
    at several scales and with both of its detectors, as a phone would try again.
    """
    for factor in (2, 3, 4, 1):
        scaled = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
        for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
            decoded, _, _ = detector.detectAndDecode(scaled)
            if decoded:
                return str(decoded)
    return ""


def test_officer_claims_corrects_and_confirms(tabs: Tabs, seed: Seed, tmp_path: Path) -> None:
    officer, deputy = tabs.open(), tabs.open()
    for page, name in ((officer, "officer"), (deputy, "deputy")):
        page.goto("/language/en")
        log_in(page, name, PASSWORD)
        expect(page.locator("#current-user")).to_have_text(name)

    officer.goto("/violations")
    expect(
        officer.locator(f"tr[data-violation-id='{seed.violation_id}'] img.thumb")
    ).to_be_visible()
    wait_for_images(officer, "img.thumb")
    shot(officer, "violations")
    officer.goto("/queue")
    rows = officer.locator("table.queue tbody tr")
    expect(rows).to_have_count(2)
    # Oldest first.
    expect(rows.first).to_have_attribute("data-violation-id", seed.violation_id)
    shot(officer, "queue")
    rows.first.locator("button.claim").click()
    expect(officer.locator("#claim-state")).to_have_attribute("data-claim", "mine")
    images = officer.locator("img.evidence-image")
    expect(images).to_have_count(len(IMAGE_KINDS))
    wait_for_images(officer, "img.evidence-image")
    kinds = images.evaluate_all("imgs => imgs.map(img => img.dataset.kind)")
    assert sorted(kinds) == sorted(IMAGE_KINDS)
    shot(officer, "violation-claimed")

    # Zoom: the frame opens larger than its thumbnail and grows with "+".
    officer.locator("img.evidence-image[data-kind='frame_before']").click()
    zoomed = officer.locator("#zoom-image")
    expect(officer.locator("#zoom")).to_be_visible()
    officer.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=zoomed.element_handle()
    )
    before = zoomed.evaluate("img => img.getBoundingClientRect().width")
    officer.click("#zoom [data-zoom=in]")
    after = zoomed.evaluate("img => img.getBoundingClientRect().width")
    assert after > before >= 640
    shot(officer, "violation-zoom")
    officer.click("#zoom [data-zoom=close]")

    # Meanwhile the second officer neither sees it in the queue nor can claim it.
    deputy.goto("/queue")
    expect(deputy.locator(f"tr[data-violation-id='{seed.violation_id}']")).to_have_count(0)
    deputy.goto(f"/violations/{seed.violation_id}")
    expect(deputy.locator("#claim-state")).to_have_attribute("data-claim", "other")
    expect(deputy.locator("#claim-state")).to_contain_text("officer")
    expect(deputy.locator("#reason")).to_have_count(0)
    shot(deputy, "violation-claimed-by-other")
    token = deputy.locator("input[name=csrf_token]").first.input_value()
    refused = deputy.request.post(
        f"/violations/{seed.violation_id}/claim", form={"csrf_token": token}, max_redirects=0
    )
    assert refused.status == 409

    officer.select_option("#reason", "evidence_clear")
    officer.fill("#reason-text", "plate read from the crop")
    officer.fill("#plate-correction", "29A-123.46")
    officer.click("button.confirm")
    expect(officer.locator("#violation-status")).to_have_text("confirmed")
    expect(officer.locator("#violation-plate")).to_contain_text("29A-123.46")
    expect(officer.locator("table.reviews")).to_contain_text(
        "Evidence clear: plate read from the crop"
    )
    shot(officer, "violation-confirmed")

    # "Next" takes the next free item.
    officer.click("#next")
    expect(officer).to_have_url(f"/violations/{seed.other_violation_id}")
    expect(officer.locator("#claim-state")).to_have_attribute("data-claim", "mine")

    # The admin's audit log shows who did what.
    chief = tabs.open()
    chief.goto("/language/en")
    log_in(chief, "chief", PASSWORD)
    chief.goto(f"/admin/audit?subject=violation:{seed.violation_id}")
    actions = chief.locator("table.audit tbody tr").evaluate_all(
        "rows => rows.map(r => [r.cells[1].textContent, r.dataset.action])"
    )
    # Views of the page and of each evidence file are on record too, between the steps.
    decisions = [row for row in actions if row[1].startswith("review.")]
    assert decisions == [["officer", "review.confirmed"], ["officer", "review.claim"]]
    assert ["officer", "violation.view"] in actions and ["officer", "evidence.view"] in actions
    shot(chief, "audit-log")

    # The printable notice of the confirmed record.
    officer.goto(f"/violations/{seed.violation_id}")
    officer.click("#notice-link")
    expect(officer.locator("#notice-plate")).to_have_text("29A-123.46")
    qr = officer.locator("#notice-qr svg")
    expect(qr).to_be_visible()
    # The QR code really encodes the record's address.
    qr_png = tmp_path / "qr.png"
    qr.screenshot(path=str(qr_png))
    decoded = decode_qr(cv2.imread(str(qr_png)))
    assert decoded == f"{tabs.server.url}/violations/{seed.violation_id}"
    wait_for_images(officer, "#notice img")
    shot(officer, "notice")
    officer.emulate_media(media="print")
    expect(officer.locator("header.topbar")).to_be_hidden()
    shot(officer, "notice-print")


def write_clip(path: Path, seconds: int = 2, fps: int = 10) -> None:
    """A short H.264 MP4, the format the evidence builder stream-copies from cameras."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for index in range(seconds * fps):
            image = np.full((240, 320, 3), 40 + index * 5, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def test_clip_plays_in_the_viewer(tab: Page, seed: Seed) -> None:
    clip = seed.evidence_root / seed.violation_id / "clip.mp4"
    write_clip(clip)
    with seed.session_factory() as db:
        db.add(
            EvidenceItem(
                violation_id=seed.violation_id,
                kind="clip",
                uri=f"{seed.violation_id}/clip.mp4",
                sha256=sha256_file(clip),
                size=clip.stat().st_size,
            )
        )
        db.commit()
    tab.goto("/language/en")
    log_in(tab, "officer", PASSWORD)
    tab.goto(f"/violations/{seed.violation_id}")
    video = tab.locator("video.evidence-clip[data-kind='clip']")
    expect(video).to_have_count(1)
    # The browser loaded the file's metadata: served, whole and decodable.
    tab.wait_for_function("v => v.readyState >= 1 && v.duration > 1.5", arg=video.element_handle())
    shot(tab, "violation-clip")


def test_wrong_password_is_refused(tab: Page) -> None:
    tab.goto("/language/en")
    log_in(tab, "officer", "not the password")
    expect(tab.locator("#login-error")).to_have_text("Wrong user name or password")
    shot(tab, "login-refused")
    tab.goto("/violations")
    expect(tab).to_have_url("/login?next=%2Fviolations")


def test_queue_in_vietnamese(tab: Page) -> None:
    log_in(tab, "officer", PASSWORD)
    tab.goto("/queue")
    expect(tab.locator("h1")).to_have_text("Hàng đợi duyệt")
    shot(tab, "queue-vi")


def test_login_page_in_vietnamese(tab: Page) -> None:
    tab.goto("/login")
    expect(tab.locator("h1")).to_have_text("Đăng nhập")
    shot(tab, "login-vi")
