"""Safe ASCII file names for what the secretary downloads: they open on any Windows PC.

Vietnamese is folded, not dropped: "Thôn 3" becomes "thon-3", "Đường" becomes "duong".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
_NOT_SAFE = re.compile(r"[^a-z0-9]+")


def fold(text: str, limit: int = 40) -> str:
    """Lowercase ASCII words joined by '-', at most `limit` characters; "x" when empty."""
    text = text.replace("đ", "d").replace("Đ", "D")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    slug = _NOT_SAFE.sub("-", bare.lower()).strip("-")
    return slug[:limit].rstrip("-") or "x"


def stamp(at: float) -> str:
    """`<date>_<time>` in the commune's own time zone, e.g. 2026-11-29_0915."""
    return datetime.fromtimestamp(at, VIETNAM).strftime("%Y-%m-%d_%H%M")


def clip_name(at: float, hall: str, name: str, topic: str) -> str:
    """`<date>_<time>_<hall>_<name>_<topic>.mp4` for a question granted at `at`."""
    return f"{stamp(at)}_{fold(hall, 20)}_{fold(name, 30)}_{fold(topic, 40)}.mp4"
