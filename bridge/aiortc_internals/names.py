"""Looking up a private aiortc name, with an error that says what changed."""

from __future__ import annotations

from typing import Any

from ..errors import InternalsChanged


def require(obj: object, name: str) -> Any:
    """`obj.name`, or InternalsChanged naming the class and the attribute gone."""
    try:
        return getattr(obj, name)
    except AttributeError as exc:
        raise InternalsChanged(
            f"aiortc changed: {type(obj).__name__} has no {name}; "
            "check bridge/aiortc_internals/ against the installed aiortc"
        ) from exc
