"""The one way a name from a URL becomes a path under the data directory: anything that
could leave it (`..`, encoded or not, absolute paths, odd characters, a symlink that
points out) is refused as if it did not exist, and the caller logs the attempt.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from .errors import NotFound

# Ids we make ourselves (new_id, meeting ids): nothing else is looked up.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def new_id() -> str:
    """A fresh id for a file we make (an export): 96 random bits, always a SAFE_NAME.
    (secrets.token_urlsafe can begin with "-" or "_", which SAFE_NAME refuses, so one
    export in 32 could never be downloaded.)"""
    return secrets.token_hex(12)


class PathRefused(NotFound):
    """A name that is not one of ours, or leads out of the data directory: 404."""


class SafePaths:
    """Paths under `root`, resolved and checked."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def name(self, value: str) -> str:
        """`value` if it is a plain id; PathRefused otherwise."""
        if not SAFE_NAME.fullmatch(value):
            raise PathRefused("no such file")
        return value

    def file(self, *names: str, suffix: str = "") -> Path:
        """The regular file root/names…+suffix; PathRefused when a name is not a plain id,
        when the file is missing, or when its real path (symlinks followed) leaves root."""
        candidate = self.root.joinpath(*(self.name(n) for n in names))
        candidate = candidate.with_name(candidate.name + suffix)
        real = Path(os.path.realpath(candidate))
        if not real.is_relative_to(os.path.realpath(self.root)) or not real.is_file():
            raise PathRefused("no such file")
        return real
