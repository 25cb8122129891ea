"""The printable notice of a confirmed violation: one A4 page, print stylesheet, QR code."""

from __future__ import annotations

import segno
from fastapi import APIRouter, HTTPException, Request
from fastapi import status as http_status
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from pipeline.store import repository
from review_ui.access import audit_view
from review_ui.auth import Reviewer
from review_ui.deps import ConfigDep, SessionDep
from review_ui.routes.violations import evidence_views
from review_ui.templating import templates

router = APIRouter(include_in_schema=False)

KEY_FRAME_KINDS = ("frame_before", "frame_after", "overview")


def record_url(request: Request, public_url: str | None, violation_id: str) -> str:
    """Where the QR code points: the configured public address, else this request's own."""
    base = public_url.rstrip("/") if public_url else str(request.base_url).rstrip("/")
    return f"{base}/violations/{violation_id}"


def qr_svg(data: str) -> Markup:
    """An inline SVG QR code; inline so the strict CSP (no data: images) still shows it."""
    # The quiet zone the QR standard asks for (4 modules): with less, a reader's
    # finder-pattern search can fail on a printed notice with text close around it.
    svg: str = segno.make(data, error="m").svg_inline(scale=3, border=4)
    # segno builds the SVG itself from the encoded bits; nothing in it comes from the record.
    return Markup(svg)  # noqa: S704


@router.get("/violations/{violation_id}/notice", response_class=HTMLResponse)
def notice_page(
    request: Request, violation_id: str, db: SessionDep, config: ConfigDep, user: Reviewer
) -> Response:
    """A notice only exists for a confirmed violation; anything else is 404."""
    violation = repository.get_violation(db, violation_id)
    if violation is None or violation.status != "confirmed":
        raise HTTPException(http_status.HTTP_404_NOT_FOUND, "No confirmed violation with this id")
    evidence, manifest = evidence_views(request, config, violation)
    audit_view(db, user, "violation.view", violation.id, via="notice")
    url = record_url(request, config.review.public_url, violation.id)
    confirmation = next((r for r in reversed(violation.reviews) if r.decision == "confirmed"), None)
    return templates.TemplateResponse(
        request,
        "notice.html",
        {
            "user": user,
            "violation": violation,
            "key_frames": [e for e in evidence if e.is_image and e.kind in KEY_FRAME_KINDS],
            "crops": [e for e in evidence if e.is_image and e.kind.endswith("_crop")],
            "evidence": evidence,
            "manifest": manifest,
            "confirmation": confirmation,
            "record_url": url,
            "qr": qr_svg(url),
        },
    )
