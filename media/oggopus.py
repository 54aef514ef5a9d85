"""Opus packets into Ogg pages (RFC 3533, RFC 7845), without re-encoding, for live listeners.

The pages are made once for everybody. A listener who joins mid-stream gets the two
header pages first and then the shared pages from the next one on, as Icecast does:
the first page it sees carries a large granule position, which players read as a
stream that started earlier.
"""

from __future__ import annotations

import random
import struct

from .opus import SAMPLE_RATE

PRE_SKIP = 312  # libopus's lookahead at 48 kHz: what a decoder drops at the very start
VENDOR = b"commune-bridge"
MAX_SEGMENTS = 255


def _crc_table() -> tuple[int, ...]:
    # Ogg's CRC-32: polynomial 0x04c11db7, not reflected, no final xor (zlib's differs).
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_CRC = _crc_table()


def ogg_crc(data: bytes) -> int:
    crc = 0
    table = _CRC
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc


def opus_samples(packet: bytes) -> int:
    """How many 48 kHz samples an Opus packet carries, from its TOC byte (RFC 6716 3.1)."""
    if not packet:
        return 0
    toc = packet[0]
    config = toc >> 3
    if config < 12:  # SILK: 10, 20, 40, 60 ms
        per_frame = (480, 960, 1920, 2880)[config % 4]
    elif config < 16:  # hybrid: 10, 20 ms
        per_frame = (480, 960)[config % 2]
    else:  # CELT: 2.5, 5, 10, 20 ms
        per_frame = (120, 240, 480, 960)[config % 4]
    code = toc & 3
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = packet[1] & 0x3F if len(packet) > 1 else 0
    return per_frame * frames


class OggOpusPager:
    """Numbers one logical Ogg stream: header pages once, then a page per call to `pages`."""

    def __init__(self, *, channels: int = 1, serial: int | None = None) -> None:
        self.serial = serial if serial is not None else random.getrandbits(32)
        self.channels = channels
        self.granule = 0
        self._sequence = 0
        head = b"OpusHead" + struct.pack("<BBHIhB", 1, channels, PRE_SKIP, SAMPLE_RATE, 0, 0)
        tags = b"OpusTags" + struct.pack("<I", len(VENDOR)) + VENDOR + struct.pack("<I", 0)
        self.headers = self._page([head], 0, 0x02) + self._page([tags], 0, 0x00)

    def pages(self, packets: list[bytes]) -> bytes:
        """`packets` as one page or more (a page holds at most 255 lacing segments)."""
        out = bytearray()
        batch: list[bytes] = []
        segments = 0
        for packet in packets:
            need = len(packet) // 255 + 1
            if batch and segments + need > MAX_SEGMENTS:
                out += self._flush(batch)
                batch, segments = [], 0
            batch.append(packet)
            segments += need
        if batch:
            out += self._flush(batch)
        return bytes(out)

    def _flush(self, packets: list[bytes]) -> bytes:
        self.granule += sum(opus_samples(p) for p in packets)
        return self._page(packets, self.granule, 0x00)

    def _page(self, packets: list[bytes], granule: int, flags: int) -> bytes:
        lacing = bytearray()
        for packet in packets:
            lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
        header = struct.pack(
            "<4sBBqIIIB", b"OggS", 0, flags, granule, self.serial, self._sequence, 0, len(lacing)
        )
        self._sequence += 1
        page = bytearray(header + lacing + b"".join(packets))
        struct.pack_into("<I", page, 22, ogg_crc(bytes(page)))
        return bytes(page)
