"""What every hall TV reports, as Prometheus text at /metrics, read from the room at scrape time.

One CollectorRegistry per app (no module-level state): two apps in one test
process never share figures. The collector keeps nothing itself; each scrape
reads the room's latest reports, so the figures are exactly what the chair sees.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from rooms.screen import FROZEN, MOVING, SILENT

from .errors import Forbidden, Unauthorized
from .meeting import Meeting

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_HALL = ["hall"]


class _RoomCollector(Collector):
    def __init__(self, meeting: Meeting) -> None:
        self._meeting = meeting

    def collect(self) -> Iterator[Metric]:
        room = self._meeting.room
        live = GaugeMetricFamily("commune_broadcast_live", "1 while the chair's stream is up")
        live.add_metric([], 1.0 if room.broadcast.live else 0.0)
        yield live

        def gauge(name: str, text: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, text, labels=_HALL)

        watching = gauge("commune_hall_watching", "1 while the hall's stream is connected")
        moving = gauge("commune_hall_picture_moving", "1 while the hall's TV shows new pictures")
        frozen = gauge("commune_hall_picture_frozen", "1 when the hall's picture stood still 5 s")
        silent = gauge("commune_hall_sound_silent", "1 when the hall heard nothing for 5 s")
        frames = CounterMetricFamily(
            "commune_hall_frames_rendered", "frames the TV page rendered", labels=_HALL
        )
        figures = {
            "fps": gauge("commune_hall_frames_per_second", "frames the TV rendered per second"),
            "width": gauge("commune_hall_video_width_pixels", "width of the picture shown"),
            "height": gauge("commune_hall_video_height_pixels", "height of the picture shown"),
            "audio_level": gauge("commune_hall_audio_level", "audio level received, 0..1"),
            "loss": gauge("commune_hall_packet_loss_ratio", "packets lost in the last 2 s"),
            "jitter": gauge("commune_hall_jitter_seconds", "receive jitter"),
            "rtt": gauge("commune_hall_round_trip_seconds", "round-trip time to the bridge"),
            "bitrate": gauge("commune_hall_bitrate_bits_per_second", "media received"),
        }
        for hall_id, _, state in room.hall_states():
            verdict, screen = room.screen(hall_id)
            watching.add_metric([hall_id], 1.0 if state == "watching" else 0.0)
            moving.add_metric([hall_id], 1.0 if verdict.picture == MOVING else 0.0)
            frozen.add_metric([hall_id], 1.0 if verdict.picture == FROZEN else 0.0)
            silent.add_metric([hall_id], 1.0 if verdict.sound == SILENT else 0.0)
            report = screen.last
            if report is None:
                continue  # no figures is honest; zeros would read as a dead link
            frames.add_metric([hall_id], float(report.frames))
            values = {
                "fps": report.fps,
                "width": report.width,
                "height": report.height,
                "audio_level": report.audio_level,
                "loss": report.loss,
                "jitter": report.jitter_ms / 1000,
                "rtt": None if report.rtt_ms is None else report.rtt_ms / 1000,
                "bitrate": report.bitrate_kbps * 1000,
            }
            for name, value in values.items():
                if value is not None:
                    figures[name].add_metric([hall_id], float(value))
        yield from (watching, moving, frozen, silent, frames, *figures.values())


class Metrics:
    """This app's registry, and who may read it."""

    def __init__(self, meeting: Meeting, key: str) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_RoomCollector(meeting))
        self._key = key.encode()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def check(self, remote: str | None, key: str | None) -> None:
        """Let in the metrics key, or any client on this machine (a local Prometheus)."""
        if key:
            if not hmac.compare_digest(key.encode(), self._key):
                raise Forbidden("this key does not open /metrics")
            return
        if _is_loopback(remote):
            return
        raise Unauthorized("/metrics needs the metrics key (keys.metrics), or a local client")


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False  # e.g. a unix socket peer we cannot place
