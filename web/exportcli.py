"""`commune-bridge export MEETING_ID`: the secretary's export from a terminal, with a
progress bar; the same ZIP as the page's "Xuất hồ sơ", written beside the bridge's."""

from __future__ import annotations

import os
import sys

from tqdm import tqdm

from media.errors import MediaError
from media.export import ExportSettings, export_meeting
from media.render_job import NICE_WHEN_LIVE

from .config import Settings
from .eventlog import EventLog
from .exportjobs import hall_names
from .minutesview import offline_minutes_writer
from .safepath import new_id


def run_export(settings: Settings, meeting_id: str | None) -> int:
    if not meeting_id:
        print("commune-bridge: export needs a meeting id", file=sys.stderr)
        return 2
    log = EventLog(settings.data_dir)
    try:
        known = {m for m, _, _ in log.meetings(limit=1000)}
        # A meeting still open means the bridge may be serving it: stay below it.
        live = log.open_meeting() is not None
        events = log.all_events(meeting_id) if meeting_id in known else []
    finally:
        log.close()
    if meeting_id not in known:
        print(f"commune-bridge: there is no meeting {meeting_id[:40]!r}", file=sys.stderr)
        return 2
    if live:
        os.nice(NICE_WHEN_LIVE)
    export = ExportSettings(
        data_dir=settings.data_dir,
        commune=settings.commune,
        hall_names=hall_names(settings),
        threads=2,  # below the bridge's priority while a meeting is live (above)
    )
    with tqdm(total=100, unit="%", desc=f"Xuất hồ sơ {meeting_id}", ncols=80) as bar:

        def progress(share: float) -> None:
            bar.update(round(share * 100) - bar.n)

        try:
            path = export_meeting(
                export,
                meeting_id,
                new_id(),
                events,
                offline_minutes_writer(settings, events),
                progress,
            )
        except (MediaError, OSError) as exc:
            print(f"commune-bridge: export failed: {exc}", file=sys.stderr)
            return 1
    print(path)
    return 0
