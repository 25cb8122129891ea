"""Jinja templates with the labels, language, CSRF token and local-time filter every page needs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates

from review_ui.auth import CSRF_FIELD, csrf_token
from review_ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# Officers read times as the city's wall clock; storage and the API stay in UTC.
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def current_language(request: Request) -> str:
    language = request.session.get("lang")
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def local_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _page_context(request: Request) -> dict[str, Any]:
    language = current_language(request)

    def t(key: str, default: str | None = None) -> str:
        return translate(key, language, default)

    return {
        "t": t,
        "lang": language,
        "languages": LANGUAGES,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
    }


templates = Jinja2Templates(directory=TEMPLATES_DIR, context_processors=[_page_context])
templates.env.filters["local_time"] = local_time
