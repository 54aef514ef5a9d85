"""Media for the recorder's tests: stamped pictures as VP8 or H.264 RTP packets (through
aiortc's own encoders and packetizers), and what a recorded file holds, read with PyAV."""

from __future__ import annotations

import fractions
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from aiortc.codecs import get_encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from tests.pictures import Picture, luma_of

VIDEO_RATE = 90000
CODECS = {
    "vp8": RTCRtpCodecParameters(mimeType="video/VP8", clockRate=VIDEO_RATE, payloadType=96),
    "h264": RTCRtpCodecParameters(
        mimeType="video/H264",
        clockRate=VIDEO_RATE,
        payloadType=102,
        parameters={
            "packetization-mode": "1",
            "level-asymmetry-allowed": "1",
            "profile-level-id": "42e01f",
        },
    ),
}


def video_packets(
    codec: str, picture: Picture, numbers: range, fps: int, *, seq: int = 100, ts: int = 0
) -> list[tuple[float, RtpPacket]]:
    """(capture time in s from the first frame, packet) for frames `numbers` of `picture`."""
    encoder = get_encoder(CODECS[codec])
    out: list[tuple[float, RtpPacket]] = []
    for index, n in enumerate(numbers):
        frame = picture.draw(n, 0)
        frame.pts = index * (VIDEO_RATE // fps)
        frame.time_base = fractions.Fraction(1, VIDEO_RATE)
        payloads, _ = encoder.encode(frame, force_keyframe=index == 0)
        for i, payload in enumerate(payloads):
            packet = RtpPacket(
                payload_type=96,
                marker=i == len(payloads) - 1,
                sequence_number=seq & 0xFFFF,
                timestamp=(ts + index * (VIDEO_RATE // fps)) & 0xFFFFFFFF,
                payload=payload,
            )
            seq += 1
            out.append((index / fps, packet))
    return out


@dataclass
class Decoded:
    """A recorded file's pictures (pts s, stamped number, damage, stamped send time in ms
    mod 2**40) and sound (pts s, samples)."""

    pictures: list[tuple[float, int, float, int]] = field(default_factory=list)
    sound: list[tuple[float, np.ndarray]] = field(default_factory=list)
    codecs: dict[str, str] = field(default_factory=dict)

    def samples_between(self, start: float, end: float) -> np.ndarray:
        parts = [s for t, s in self.sound if start <= t < end]
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    @property
    def last_pts(self) -> float:
        times = [p[0] for p in self.pictures] + [t for t, _ in self.sound]
        return max(times, default=0.0)


def decode_file(path: Path, picture: Picture | None = None) -> Decoded:
    """Every picture and sound `path` holds, decoded; reads a file cut short as far as it goes."""
    decoded = Decoded()
    with av.open(str(path)) as container:
        for stream in container.streams:
            decoded.codecs[stream.type] = stream.codec_context.name
        streams = [s for s in container.streams if s.type in ("video", "audio")]
        try:
            for packet in container.demux(*streams):
                try:
                    frames = packet.decode()
                except av.FFmpegError:
                    continue
                for frame in frames:
                    if not isinstance(frame, av.VideoFrame | av.AudioFrame):
                        continue
                    base = frame.time_base or fractions.Fraction(1, 1000)
                    t = float(frame.pts * base) if frame.pts is not None else 0.0
                    if isinstance(frame, av.VideoFrame):
                        pic = picture or Picture(frame.width, frame.height)
                        luma = luma_of(frame)
                        after = decoded.pictures[-1][1] if decoded.pictures else None
                        verdict = pic.judge(luma, after)
                        decoded.pictures.append(
                            (t, verdict.number, verdict.damage, verdict.sent_ms)
                        )
                    else:
                        array = frame.to_ndarray()
                        channels = len(frame.layout.channels)
                        mono = array[0] if frame.format.is_planar else array.reshape(-1)[::channels]
                        decoded.sound.append((t, mono.astype(np.float32)))
        except av.FFmpegError:
            pass  # a file cut mid-cluster ends here
    return decoded
