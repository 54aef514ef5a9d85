"""The typed keys under which the app keeps its shared state (no module-level state)."""

from __future__ import annotations

from aiohttp import web

from bridge.bridge import Bridge
from bridge.candidates import CandidatePolicy

from .accesslog import AccessLog
from .auth import KeyRing
from .backoff import KeyBackoff
from .config import Settings
from .exportjobs import ExportManager
from .guard import ConnectionGuard
from .meeting import Meeting
from .metrics import Metrics
from .register import Register
from .sessionbudget import SessionBudget
from .socketbudget import SocketBudget
from .speakerhub import SpeakerHub

SETTINGS = web.AppKey("settings", Settings)
BRIDGE = web.AppKey("bridge", Bridge)
MEETING = web.AppKey("meeting", Meeting)
KEYRING = web.AppKey("keyring", KeyRing)
METRICS = web.AppKey("metrics", Metrics)
GUARD = web.AppKey("guard", ConnectionGuard)  # open TCP connections, per address
BACKOFF = web.AppKey("backoff", KeyBackoff)  # wrong keys per address
SOCKETS = web.AppKey("sockets", SocketBudget)  # page sockets per key and address
SESSIONS = web.AppKey("sessions", SessionBudget)  # media sessions per key, live and pending
CANDIDATES = web.AppKey("candidates", CandidatePolicy)  # which ICE candidates are checked
SOCKET_SILENCE = web.AppKey("socket_silence", float)  # seconds a page socket may say nothing
SPEAKERS = web.AppKey("speakers", SpeakerHub)  # the loudspeaker clusters
REGISTER = web.AppKey("register", Register)  # the question register (web/register.py)
ACCESS_LOG = web.AppKey("access_log", AccessLog)  # who saw or took the record, and when
EXPORTS = web.AppKey("exports", ExportManager)  # the secretary's exports and the purge
