"""Errors of the media package (files and numbers made from recordings).

MediaError
├── RenderFailed     the composite or a clip could not be made
└── ExportFailed     an export could not be finished (no meeting, disk, render)
"""

from __future__ import annotations


class MediaError(Exception):
    pass


class RenderFailed(MediaError):
    pass


class ExportFailed(MediaError):
    pass
