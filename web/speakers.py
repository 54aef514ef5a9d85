"""The loudspeaker clusters' HTTP endpoints: the program as MP3 and Ogg/Opus streams that
IP receivers, VLC and ffplay play, the receivers' status reports, and the clusters'
state for the "Cụm loa" panel and for /metrics (docs/protocol.md, "Loudspeaker clusters").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from media.programstream import MP3, OGG
from rooms.permissions import SEE_HALLS

from .admission import carries_key
from .errors import BadRequest, Forbidden
from .keys import KEYRING, SPEAKERS
from .speakerfeed import IcyResponse, Listener
from .speakerhub import SpeakerHub
from .speakerwatch import MAX_STATUS_BYTES, span_to_wire

CONTENT_TYPES = {MP3: "audio/mpeg", OGG: "audio/ogg"}


async def stream(request: web.Request) -> web.StreamResponse:
    """GET /speakers/<id>/stream.mp3 (or .ogg): the program, until the receiver goes."""
    hub = request.app[SPEAKERS]
    fmt = request.match_info["format"]
    cluster = hub.authorize(request.match_info["speaker"], carries_key(request), request.remote)
    hub.admit(cluster.id)
    response = IcyResponse(
        status=200,
        headers={
            "Content-Type": CONTENT_TYPES[fmt],
            "Cache-Control": "no-cache, no-store",
            "Pragma": "no-cache",
            "icy-name": cluster.name,
            "icy-description": f"{hub.meeting.settings.commune}: {cluster.name}",
            "icy-genre": "Speech",
            "icy-pub": "0",
            **({"icy-br": "64"} if fmt == MP3 else {}),
        },
    )
    response.force_close()  # the stream ends with the connection, as Icecast's does
    await response.prepare(request)
    if request.method == "HEAD":  # a receiver probing the link: headers, no stream
        return response
    transport = request.transport
    listener = Listener(
        cluster.id,
        fmt,
        response,
        transport if isinstance(transport, asyncio.Transport) else None,
        hub.bound(fmt),
        first=hub.first_bytes(fmt),
    )
    hub.attach(listener)
    try:
        await listener.run(lambda size: hub.sent(cluster.id, size))
    finally:
        hub.detach(listener)
    return response


async def status(request: web.Request) -> web.Response:
    """POST /speakers/<id>/status: the receiver's own report, kept as the last one."""
    hub = request.app[SPEAKERS]
    cluster = hub.authorize(request.match_info["speaker"], carries_key(request), request.remote)
    length = request.content_length
    if length is not None and length > MAX_STATUS_BYTES:
        raise BadRequest(f"a status report is at most {MAX_STATUS_BYTES} bytes", code="too-large")
    body = await request.content.read(MAX_STATUS_BYTES + 1)
    report = hub.watch.reported(cluster.id, body, time.time())
    return web.json_response({"ok": True, "status": report.to_wire()})


def _panel_reader(request: web.Request) -> SpeakerHub:
    identity = request.app[KEYRING].from_query(request)
    if not identity.may(SEE_HALLS):
        raise Forbidden("the clusters' state is for the chair and the secretary")
    return request.app[SPEAKERS]


async def overview(request: web.Request) -> web.Response:
    """GET /speakers: every cluster's state, for the "Cụm loa" panel."""
    hub = _panel_reader(request)
    return web.json_response(hub.snapshot(), headers={"Cache-Control": "no-store"})


async def history(request: web.Request) -> web.Response:
    """GET /speakers/history?meeting=<id>: which clusters carried that meeting, when."""
    hub = _panel_reader(request)
    meeting_id = request.query.get("meeting", "")
    if not meeting_id or len(meeting_id) > 64:
        raise BadRequest("give the meeting's id: ?meeting=…")
    spans = await hub.history.spans(meeting_id)
    return web.json_response(
        {"meeting": meeting_id, "history": [span_to_wire(s) for s in spans]},
        headers={"Cache-Control": "no-store"},
    )


class SpeakerCollector(Collector):
    """The clusters' figures for /metrics, read from the hub at scrape time."""

    def __init__(self, hub: SpeakerHub) -> None:
        self._hub = hub

    def collect(self) -> Iterator[Metric]:
        snapshot = self._hub.snapshot()
        labels = ["speaker"]

        def gauge(name: str, text: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, text, labels=labels)

        connected = gauge("commune_speaker_connected", "1 while the cluster receives the stream")
        listeners = gauge("commune_speaker_listeners", "streams the cluster has open")
        since = gauge("commune_speaker_connected_since_seconds", "Unix time it connected")
        sent = CounterMetricFamily(
            "commune_speaker_sent_bytes", "bytes of audio sent to the cluster", labels=labels
        )
        backlog = gauge("commune_speaker_backlog_bytes", "bytes queued for it, not yet sent")
        seen = gauge("commune_speaker_last_seen_seconds", "Unix time it was last heard of")
        dropped = gauge("commune_speaker_dropped", "1 when it carried the meeting and is off")
        stale = gauge("commune_speaker_stale", "1 when not seen for stale_after seconds")
        volume = gauge("commune_speaker_volume", "volume the receiver reported, 0..100")
        signal = gauge("commune_speaker_signal", "signal strength the receiver reported")
        slow = CounterMetricFamily(
            "commune_speaker_slow_drops", "streams dropped for falling behind", labels=labels
        )
        for cluster in snapshot["clusters"]:
            label = [cluster["id"]]
            connected.add_metric(label, 1.0 if cluster["connected"] else 0.0)
            listeners.add_metric(label, float(cluster["listeners"]))
            sent.add_metric(label, float(cluster["bytes_sent"]))
            backlog.add_metric(label, float(cluster["backlog"]))
            dropped.add_metric(label, 1.0 if "dropped" in cluster["flags"] else 0.0)
            stale.add_metric(label, 1.0 if "stale" in cluster["flags"] else 0.0)
            slow.add_metric(label, float(cluster["dropped_slow"]))
            _maybe(since, label, cluster["since"])
            _maybe(seen, label, cluster["last_seen"])
            report: dict[str, Any] = cluster["status"] or {}
            _maybe(volume, label, report.get("volume"))
            _maybe(signal, label, report.get("signal"))
        yield from (connected, listeners, since, sent, backlog, seen, dropped, stale)
        yield from (volume, signal, slow)


def _maybe(family: GaugeMetricFamily, label: list[str], value: float | None) -> None:
    if value is not None:  # no figure is honest; a zero would read as a real one
        family.add_metric(label, float(value))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/speakers", overview)
    app.router.add_get("/speakers/history", history)
    app.router.add_get(r"/speakers/{speaker}/stream.{format:mp3|ogg}", stream)
    app.router.add_post("/speakers/{speaker}/status", status)
