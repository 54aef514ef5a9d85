"""The codec a producer sends or a consumer was negotiated: name, clock rate, parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiortc.rtcrtpparameters import RTCRtpCodecParameters


@dataclass(frozen=True)
class Codec:
    name: str
    clock_rate: int
    parameters: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def negotiated(cls, codec: RTCRtpCodecParameters) -> Codec:
        return cls(codec.name, codec.clockRate, dict(codec.parameters))

    def carries(self, other: Codec) -> bool:
        """Whether packets of `other` can go out unchanged as this codec."""
        if self.name.upper() != other.name.upper():
            return False
        if self.name.upper() == "H264":  # the packetization mode decides how NALs are framed
            return self._packetization() == other._packetization()
        return True

    def _packetization(self) -> str:
        return str(self.parameters.get("packetization-mode", "0"))
