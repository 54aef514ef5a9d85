"""Exports running in the background for the web: one at a time, the video pass in a
niced child process, progress kept for the page to poll; and the daily retention purge.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media.errors import MediaError
from media.export import (
    PART_SUFFIX,
    WORK_SUFFIX,
    ExportSettings,
    MinutesWriter,
    export_meeting,
    exports_dir,
)
from media.render_job import NICE_WHEN_LIVE, RenderJob, run_in_subprocess
from media.retention import AccessRecorder, Purge
from rooms import Event

from .config import Settings
from .eventlog import AsyncEventLog
from .safepath import new_id

logger = logging.getLogger(__name__)

PURGE_EVERY = 24 * 3600.0
# The minutes' writer for a meeting's events; web/ reads the register first, so it may await.
MinutesFor = Callable[[Sequence[Event]], MinutesWriter | Awaitable[MinutesWriter]]
Render = Callable[[RenderJob, Callable[[float], None] | None], None]


@dataclass
class ExportJob:
    export_id: str
    meeting_id: str
    requested_at: float
    by: str
    state: str = "waiting"  # "waiting" | "running" | "done" | "failed"
    progress: float = 0.0
    error: str | None = None
    path: Path | None = field(default=None, repr=False)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "id": self.export_id,
            "meeting": self.meeting_id,
            "state": self.state,
            "progress": round(self.progress, 3),
            "requested_at": self.requested_at,
        }
        if self.state == "done":
            wire["download"] = f"/exports/{self.export_id}/download"
        if self.error:
            wire["error"] = self.error
        return wire


class ExportManager:
    """Starts exports and knows how each is going; exports run one after another."""

    def __init__(
        self,
        settings: Settings,
        log: AsyncEventLog,
        access: AccessRecorder,
        minutes_for: MinutesFor,
        live: Callable[[], bool] = lambda: False,
        render: Render | None = None,
    ) -> None:
        self.settings = settings
        self.log = log
        self.access = access
        self.minutes_for = minutes_for
        self.live = live
        self.render: Render = render or (
            lambda job, progress: run_in_subprocess(job, progress, self._children.add)
        )
        self.jobs: dict[str, ExportJob] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export")
        self._tasks: set[asyncio.Task[None]] = set()
        self._children: set[subprocess.Popen[str]] = set()

    async def start(self, meeting_id: str, by: str) -> ExportJob:
        """A new export of `meeting_id`, or the one already under way: pressing the button
        twice must not queue two hours of video work."""
        for job in self.jobs.values():
            if job.meeting_id == meeting_id and job.state in ("waiting", "running"):
                return job
        job = ExportJob(new_id(), meeting_id, time.time(), by)
        self.jobs[job.export_id] = job
        task = asyncio.ensure_future(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def busy(self) -> set[Path]:
        """What the running exports are writing: the purge leaves it alone."""
        found = set()
        for job in self.jobs.values():
            if job.state in ("waiting", "running"):
                folder = exports_dir(self.settings.data_dir, job.meeting_id)
                found |= {
                    folder / (job.export_id + WORK_SUFFIX),
                    folder / (job.export_id + ".zip" + PART_SUFFIX),
                }
        return found

    def purge(self, clock: Callable[[], float] = time.time) -> list[Path]:
        """One retention pass (blocking: run it on an executor)."""
        return Purge(
            self.settings.data_dir, self.settings.retention, self.access, clock, self.busy
        ).run()

    async def purge_daily(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(None, self.purge)
            except Exception:
                logger.exception("retention purge failed")
            await asyncio.sleep(PURGE_EVERY)

    async def close(self) -> None:
        """Stop every export: the child is killed, so its thread returns at once."""
        for task in list(self._tasks):
            task.cancel()
        for child in list(self._children):
            if child.poll() is None:
                child.kill()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, job: ExportJob) -> None:
        loop = asyncio.get_running_loop()
        try:
            events = await self.log.all_events(job.meeting_id)
            made = self.minutes_for(events)
            minutes = await made if inspect.isawaitable(made) else made
            live = self.live()
            settings = ExportSettings(
                data_dir=self.settings.data_dir,
                commune=self.settings.commune,
                hall_names=hall_names(self.settings),
                # Each video's encoder gets a thread of its own; beside a live meeting
                # they run below the bridge's priority, so the halls keep every frame
                # (docs/benchmarks.md, "The secretary's export": 30 fps throughout).
                threads=2,
                nice=NICE_WHEN_LIVE if live else 0,
            )

            def progress(share: float) -> None:
                loop.call_soon_threadsafe(setattr, job, "progress", share)

            def work() -> Path:
                loop.call_soon_threadsafe(setattr, job, "state", "running")
                return export_meeting(
                    settings,
                    job.meeting_id,
                    job.export_id,
                    events,
                    minutes,
                    progress,
                    self.render,
                )

            job.path = await loop.run_in_executor(self._executor, work)
            job.progress, job.state = 1.0, "done"
        except (MediaError, OSError, ValueError) as exc:
            logger.warning("export %s of %s failed: %s", job.export_id, job.meeting_id, exc)
            job.state, job.error = "failed", str(exc)[:200]
        except Exception as exc:
            logger.exception("export %s of %s failed", job.export_id, job.meeting_id)
            job.state, job.error = "failed", type(exc).__name__


def hall_names(settings: Settings) -> Mapping[str, str]:
    return {hall.id: hall.name for hall in settings.halls}
