"""Vietnamese licence-plate text: normalisation and validation of OCR output.

Formats (Circular 58/2020 and earlier):
- one line (cars): province, series, number: `88A-123.45`, `30E-123.45`, `51K-1234`,
  two-letter series such as `51LD-123.45`;
- two lines (motorbikes): `88-B1` over `123.45` (or `1234`); series of a letter and a
  digit, or two letters: `29-AA` over `123.45`.

OCR confuses look-alike characters (`0`/`D`/`O`, `8`/`B`, `5`/`S`, ...); each format
fixes which positions hold digits and which letters, so a character is coerced to its
position's kind, and the reading that needed the fewest coercions wins. Province codes
are checked against the codes in use.

Example:
    >>> normalise_plate(["88A-I23.45"])
    '88A-123.45'
    >>> normalise_plate(["88-B1", "123.45"])
    '88-B1 123.45'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PROVINCE_CODES: frozenset[int] = frozenset(range(11, 100)) - {13, 42, 44, 45, 46, 87, 91, 96}
"""Two-digit province codes in use (11-99 less the codes never or no longer issued)."""

_TO_DIGIT = {"O": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "L": "1", "J": "1", "T": "1",
             "Z": "2", "S": "5", "B": "8", "G": "6", "A": "4", "E": "3"}  # fmt: skip
_TO_LETTER = {"0": "D", "1": "T", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B", "7": "T"}

# D: digit, L: letter, X: letter or digit. (one-line templates, two-line top templates)
_ONE_LINE = ("DDL", "DDLL")
_TOP_LINE = ("DDLD", "DDLL", "DDL")
_NUMBER_LENGTHS = (5, 4)


def _clean(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper().replace("Đ", "D"))


def _coerce(chars: str, template: str) -> tuple[str, int] | None:
    """Fit `chars` to a template of D/L positions; return it and the coercions needed."""
    if len(chars) != len(template):
        return None
    out, fixes = [], 0
    for char, kind in zip(chars, template, strict=True):
        if kind == "D" and not char.isdigit():
            char, fixes = _TO_DIGIT.get(char, ""), fixes + 1
        elif kind == "L" and not char.isalpha():
            char, fixes = _TO_LETTER.get(char, ""), fixes + 1
        if not char:
            return None
        out.append(char)
    return "".join(out), fixes


def _format_number(digits: str) -> str:
    return f"{digits[:3]}.{digits[3:]}" if len(digits) == 5 else digits


def _candidates_one_line(chars: str, head_len: int | None) -> list[tuple[int, str]]:
    found = []
    for head in _ONE_LINE:
        if head_len is not None and head_len != len(head):
            continue
        for n in _NUMBER_LENGTHS:
            fitted = _coerce(chars, head + "D" * n)
            if fitted is None:
                continue
            text, fixes = fitted
            if int(text[:2]) not in PROVINCE_CODES:
                continue
            k = len(head)
            found.append((fixes, f"{text[:k]}-{_format_number(text[k:])}"))
    return found


def _candidates_two_line(top: str, bottom: str) -> list[tuple[int, str]]:
    found = []
    for head in _TOP_LINE:
        fitted_top = _coerce(top, head)
        if fitted_top is None:
            continue
        for n in _NUMBER_LENGTHS:
            fitted_bottom = _coerce(bottom, "D" * n)
            if fitted_bottom is None:
                continue
            (t, f1), (b, f2) = fitted_top, fitted_bottom
            if int(t[:2]) not in PROVINCE_CODES:
                continue
            found.append((f1 + f2, f"{t[:2]}-{t[2:]} {_format_number(b)}"))
    return found


def normalise_plate(lines: Sequence[str]) -> str | None:
    """Turn OCR lines into a canonical Vietnamese plate, or None if none fits.

    Args:
        lines: One string for a one-line plate, or the top and bottom lines of a
            two-line plate. Punctuation and spaces are ignored.

    Returns:
        `88A-123.45` / `51K-1234` for one line, `88-B1 123.45` for two lines; None when
        the text fits no format or names no province in use.
    """
    cleaned = [_clean(line) for line in lines]
    cleaned = [c for c in cleaned if c]
    if len(cleaned) == 2:
        found = _candidates_two_line(cleaned[0], cleaned[1])
    elif len(cleaned) == 1:
        # A dash the OCR saw marks where the series ends: it settles `88A-I23.45`
        # (series A, I for 1) against `88AI-2345`.
        head, dash, _ = lines[-1].partition("-") if len(lines) else ("", "", "")
        head_len = len(_clean(head)) if dash and len(_clean(head)) in (3, 4) else None
        found = _candidates_one_line(cleaned[0], head_len)
        if not found and head_len is not None:
            found = _candidates_one_line(cleaned[0], None)
    else:
        return None
    if not found:
        return None
    # Fewest coercions wins; ties go to the longer (5-digit) number, the common form.
    found.sort(key=lambda item: (item[0], -len(item[1])))
    return found[0][1]


def is_valid_plate(text: str) -> bool:
    """True when `text` is already a canonical plate as `normalise_plate` writes it."""
    if " " in text:
        top, bottom = text.split(" ", 1)
        return normalise_plate([top, bottom]) == text
    return normalise_plate([text]) == text
