"""Comparing a documented value with a live one by shape.

Every documented key must exist, with a value of the same kind: a global ID of the same
type, a Decimal string, a date, a date-time, a cursor of the same ordering, the same enum
value, a boolean, null, a number. Error messages must read the same up to numbers and quoted
titles. Other values that change from run to run (IDs, timestamps, tokens, amounts) are
compared by kind only. A documented "…" as a list's last item means "more items", and "…"
in a string means "shortened". `exact_ids`: global IDs must also be the documented ones (the
guide replayed on a freshly seeded database, where every ID is known in advance).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from tests.support.guide import ELLIPSIS

DECIMAL = re.compile(r"^-?\d+\.\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ENUM = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
COMPARED_TEXTS = ("message", "msg")  # keys whose text must match (numbers aside)


def global_id_type(value: str) -> str | None:
    """ "Book" for a global ID of a Book ("Qm9vazox" is base64 "Book:1"), else None."""
    if not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", value):
        return None
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    match = re.fullmatch(r"([A-Z][A-Za-z]+):(\d+)", decoded)
    return match.group(1) if match else None


def cursor_ordering(value: str) -> str | None:
    """ "PRICE:ASC" for a cursor of that ordering (base64url JSON [ordering, keys])."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value) or len(value) < 12:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, binascii.Error):
        return None
    if isinstance(decoded, list) and len(decoded) == 2 and isinstance(decoded[0], str):
        return decoded[0]
    return None


def kind(value: str) -> tuple[str, str | None]:
    if ELLIPSIS in value:
        return ("shortened", None)
    if DECIMAL.match(value):
        return ("decimal", None)
    if DATETIME.match(value):
        return ("datetime", None)
    if DATE.match(value):
        return ("date", None)
    if (type_name := global_id_type(value)) is not None:
        return ("global id", type_name)
    if (ordering := cursor_ordering(value)) is not None:
        return ("cursor", ordering)
    if ENUM.match(value) and len(value) > 1:
        return ("enum", value)
    return ("text", None)


def _text_form(text: str) -> str:
    """A message up to the numbers and quoted titles in it."""
    return re.sub(r"\d+", "N", re.sub(r"“[^”]*”", "“T”", text))


def same_shape(
    documented: Any, live: Any, path: str = "$", *, exact_ids: bool = False
) -> list[str]:
    """Where `live` differs from what the guide documents (empty when it matches)."""
    shown = json.dumps(live, ensure_ascii=False)[:100]
    if isinstance(documented, dict):
        if not isinstance(live, dict):
            return [f"{path}: documented an object, got {shown}"]
        problems = []
        for key, value in documented.items():
            if key not in live:
                problems.append(f"{path}.{key}: documented but absent")
            else:
                problems += same_shape(value, live[key], f"{path}.{key}", exact_ids=exact_ids)
        return problems
    if isinstance(documented, list):
        if not isinstance(live, list):
            return [f"{path}: documented a list, got {shown}"]
        more = bool(documented) and documented[-1] == ELLIPSIS
        items = documented[:-1] if more else documented
        if len(live) < len(items) or (not more and len(live) != len(items)):
            return [f"{path}: documented {len(items)}{'+' if more else ''} items, got {shown}"]
        problems = []
        for index, item in enumerate(items):
            problems += same_shape(item, live[index], f"{path}[{index}]", exact_ids=exact_ids)
        return problems
    if documented is None:
        return [] if live is None else [f"{path}: documented null, got {shown}"]
    if isinstance(documented, bool):
        return [] if live is documented else [f"{path}: documented {documented}, got {shown}"]
    if isinstance(documented, int):
        ok = isinstance(live, int) and not isinstance(live, bool)
        return [] if ok else [f"{path}: documented an integer, got {shown}"]
    if isinstance(documented, float):
        ok = isinstance(live, (int, float)) and not isinstance(live, bool)
        return [] if ok else [f"{path}: documented a number, got {shown}"]
    if not isinstance(documented, str):
        return [f"{path}: cannot compare {documented!r}"]
    if not isinstance(live, str):
        return [f"{path}: documented a string, got {shown}"]
    if path.rsplit(".", 1)[-1] in COMPARED_TEXTS and ELLIPSIS not in documented:
        if _text_form(documented) != _text_form(live):
            return [f"{path}: documented {documented!r}, got {live!r}"]
        return []
    want = kind(documented)
    if want[0] in ("shortened", "text"):
        return []
    got = kind(live)
    if want != got or (exact_ids and want[0] == "global id" and documented != live):
        described = [_described(k, v) for k, v in ((want, documented), (got, live))]
        return [
            f"{path}: documented {documented!r} ({described[0]}), got {live!r} ({described[1]})"
        ]
    return []


def _described(found: tuple[str, str | None], value: str) -> str:
    if found[0] == "global id":  # "Book:241": what to write in the guide instead
        return base64.b64decode(value + "=" * (-len(value) % 4)).decode()
    return " ".join(part for part in found if part)
