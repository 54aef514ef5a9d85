"""The retention purge: recordings, clips and exports are personal data (Law 91/2025),
kept only as long as the config says; a daily purge deletes what is past its age,
half-made files of exports that died included, and logs every deletion.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from media.recording import Recording

logger = logging.getLogger(__name__)

DAY = 86400.0
SYSTEM = "system"  # who deletes: the bridge itself, not a key
DELETE = "delete"  # the access log's action


class AccessRecorder(Protocol):
    """The access log (web/accesslog.py's AccessLog): `add` must not block."""

    def add(self, who_role: str, action: str, target: str, at: float) -> object: ...


@dataclass(frozen=True)
class RetentionPolicy:
    recordings_days: int = 365
    clips_days: int = 365
    exports_days: int = 30
    temporary_hours: int = 24  # a work folder older than this belongs to a dead export

    @property
    def zip_days(self) -> int:
        """An export holds the composite and the clips: it never outlives either."""
        return min(self.exports_days, self.clips_days, self.recordings_days)


class Purge:
    """One pass over data_dir deleting what is too old; `clock` is injected for tests, and
    `busy` names paths an export is working on right now."""

    def __init__(
        self,
        data_dir: Path,
        policy: RetentionPolicy,
        access: AccessRecorder,
        clock: Callable[[], float] = time.time,
        busy: Callable[[], set[Path]] = set,
    ) -> None:
        self.data_dir = data_dir
        self.policy = policy
        self.access = access
        self.clock = clock
        self.busy = busy

    def run(self) -> list[Path]:
        """Delete, log and return every path past its age."""
        now = self.clock()
        busy = {p.resolve() for p in self.busy()}
        deleted = []
        for path, age_limit, born in self._candidates():
            if path.resolve() in busy or now - born <= age_limit:
                continue
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except OSError as exc:
                logger.warning("retention: %s not deleted: %s", path, exc)
                continue
            target = str(path.relative_to(self.data_dir))
            logger.info("retention: deleted %s", target)
            self.access.add(SYSTEM, DELETE, target, now)
            deleted.append(path)
        self._prune_empty()
        return deleted

    def _candidates(self) -> Iterator[tuple[Path, float, float]]:
        """(path, its age limit in seconds, when it was made)."""
        p = self.policy
        for folder in _children(self.data_dir / "recordings", depth=2):
            if folder.is_dir():
                yield folder, p.recordings_days * DAY, _recorded_at(folder)
        for clip in _children(self.data_dir / "clips", depth=2):
            yield clip, p.clips_days * DAY, _mtime(clip)
        for item in _children(self.data_dir / "exports", depth=2):
            if item.name.endswith(".zip"):
                yield item, p.zip_days * DAY, _mtime(item)
            else:  # .work folders, .part files: a dead export's leftovers
                yield item, p.temporary_hours * 3600.0, _mtime(item)

    def _prune_empty(self) -> None:
        for kind in ("recordings", "clips", "exports"):
            for folder in _children(self.data_dir / kind, depth=1):
                if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
                    folder.rmdir()


def _children(root: Path, depth: int) -> Iterator[Path]:
    """Entries exactly `depth` levels under root, never following a symlinked folder."""
    if depth == 0:
        yield root
        return
    if not root.is_dir() or root.is_symlink():
        return
    for child in sorted(root.iterdir()):
        yield from _children(child, depth - 1) if depth > 1 else iter([child])


def _mtime(path: Path) -> float:
    return path.lstat().st_mtime


def _recorded_at(folder: Path) -> float:
    """A recording ages from its end (its start if it never stopped cleanly)."""
    try:
        info = Recording.load(folder)
    except (OSError, ValueError, KeyError, TypeError):
        return _mtime(folder)
    return info.stopped_at if info.stopped_at is not None else info.started_at
