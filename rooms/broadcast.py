"""The chair's broadcast as an immutable snapshot; the room swaps in a new one on each change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Broadcast:
    live: bool = False
    video_codec: str | None = None
    audio_codec: str | None = None
    since: float | None = None
    # The publishing session; kept off the wire, it only decides whose stop ends the broadcast.
    session: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "live": self.live,
            "video_codec": self.video_codec,
            "audio_codec": self.audio_codec,
            "since": self.since,
        }


OFF_AIR = Broadcast()
