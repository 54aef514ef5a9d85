"""The typed keys under which the app keeps its shared state (no module-level state)."""

from __future__ import annotations

from aiohttp import web

from bridge.bridge import Bridge

from .auth import KeyRing
from .config import Settings
from .meeting import Meeting
from .metrics import Metrics

SETTINGS = web.AppKey("settings", Settings)
BRIDGE = web.AppKey("bridge", Bridge)
MEETING = web.AppKey("meeting", Meeting)
KEYRING = web.AppKey("keyring", KeyRing)
METRICS = web.AppKey("metrics", Metrics)
SOCKET_SILENCE = web.AppKey("socket_silence", float)  # seconds a page socket may say nothing
