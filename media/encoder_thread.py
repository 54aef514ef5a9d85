"""An Mp4Writer fed from a thread of its own. PyAV lets go of the GIL while x264 encodes
(and while the decoders decode and swscale scales), so the encoders run on the second
core beside the decode-and-compose pass, and a picture costs one copy into a spare
buffer: no pipe to another process, no pickling, no pages faulted in per frame.

A failure in the thread is kept, and told at the next call or at close().
"""

from __future__ import annotations

import contextlib
import queue
import threading
from pathlib import Path
from typing import Any

import numpy as np

from media.canvas import Canvas
from media.errors import RenderFailed
from media.mp4writer import Mp4Writer

DEPTH = 4  # pictures queued ahead of the encoder: it rides out a slow frame of the pass
Work = tuple[str, np.ndarray | None]  # ("video" | "audio" | "close" | "abandon", data)


class ThreadedWriter:
    """Mp4Writer's calls, returning at once; the encoding happens up to DEPTH calls later."""

    def __init__(self, path: Path, **options: Any) -> None:
        self.path = path
        self._writer = Mp4Writer(path, **options)
        self._work: queue.Queue[Work] = queue.Queue(DEPTH)
        self._spare: queue.Queue[np.ndarray] = queue.Queue()
        self._buffers = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name=f"encode {path.name}", daemon=True)
        self._thread.start()

    def video(self, canvas: Canvas) -> None:
        self._raise_failure()
        if self._spare.empty() and self._buffers < DEPTH + 2:  # queued, encoding, and this one
            self._buffers += 1
            buffer = np.empty_like(canvas.buffer)
        else:
            buffer = self._spare.get()
        np.copyto(buffer, canvas.buffer)
        self._work.put(("video", buffer))

    def audio(self, samples: np.ndarray) -> None:
        self._raise_failure()
        self._work.put(("audio", samples.astype(np.float32)))

    def close(self) -> Path:
        """Wait for the encoder to finish the file; its failure, if any, is raised here."""
        self._work.put(("close", None))
        self._thread.join()
        self._raise_failure()
        return self.path

    def abandon(self) -> None:
        if self._thread.is_alive():
            self._work.put(("abandon", None))
            self._thread.join()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise RenderFailed(f"{type(self._error).__name__}: {self._error}") from self._error

    def _serve(self) -> None:
        """Encode until close or abandon; after a failure, only drain (the caller may be
        blocked putting work) until it hears of it."""
        while True:
            kind, data = self._work.get()
            if kind in ("close", "abandon"):
                if kind == "close" and self._error is None:
                    self._close()
                else:
                    self._abandon()
                return
            if self._error is None:
                try:
                    if kind == "video":
                        self._writer.video_packed(data)  # type: ignore[arg-type]
                    else:
                        self._writer.audio(data)  # type: ignore[arg-type]
                except Exception as exc:  # noqa: BLE001 -- told to the caller
                    self._error = exc
            if kind == "video":
                self._spare.put(data)  # type: ignore[arg-type]

    def _close(self) -> None:
        try:
            self._writer.close()
        except Exception as exc:  # noqa: BLE001 -- told to the caller
            self._error = exc
            self._abandon()

    def _abandon(self) -> None:
        with contextlib.suppress(Exception):  # the file is deleted whatever closing says
            self._writer.abandon()
