"""The label tables: Vietnamese is the default, English the fallback for every key."""

from __future__ import annotations

import pytest

from review_ui.i18n import DEFAULT_LANGUAGE, LABELS, translate


def test_vietnamese_is_the_default() -> None:
    assert DEFAULT_LANGUAGE == "vi"


@pytest.mark.parametrize("language", sorted(LABELS))
def test_no_language_has_keys_english_lacks(language: str) -> None:
    assert set(LABELS[language]) <= set(LABELS["en"])


@pytest.mark.parametrize(
    ("key", "language", "default", "expected"),
    [
        ("login", "vi", None, "Đăng nhập"),
        ("login", "en", None, "Log in"),
        ("sha256", "vi", None, "SHA-256"),  # no Vietnamese label: English
        ("rule_speeding", "vi", "speeding", "speeding"),  # no label yet: the raw value
        ("no_such_key", "xx", None, "no_such_key"),
    ],
)
def test_translate_falls_back(key: str, language: str, default: str | None, expected: str) -> None:
    assert translate(key, language, default) == expected
