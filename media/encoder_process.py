"""The encoders in a child process. PyAV holds the GIL while x264 encodes, so in one
process decoding and composing wait for encoding; with the encoders next door the two
halves of an export run on both cores, the pictures crossing a pipe (1.4 MB each).

The child owns Mp4Writers by id; the parent's RemoteWriter has Mp4Writer's calls.
A failure in the child is kept and told at close(), which is the one call that waits.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.connection
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from media.canvas import Canvas
from media.errors import RenderFailed
from media.mp4writer import Mp4Writer


class RemoteWriter:
    """An Mp4Writer living in the EncoderProcess."""

    def __init__(self, owner: EncoderProcess, ident: int, path: Path) -> None:
        self._owner, self._id, self.path = owner, ident, path

    def video(self, canvas: Canvas) -> None:
        self._owner.send(("video", self._id), canvas.buffer)

    def audio(self, samples: np.ndarray) -> None:
        self._owner.send(("audio", self._id), samples.astype(np.float32))

    def close(self) -> Path:
        self._owner.send(("close", self._id))
        self._owner.reply(self._id)
        return self.path

    def abandon(self) -> None:
        try:
            self._owner.send(("abandon", self._id))
        except RenderFailed:
            pass  # the child is gone: so is the file it was writing


class EncoderProcess:
    """One child encoding every output of an export, in the order the frames come."""

    def __init__(self) -> None:
        # spawn, not fork: the parent has decoder threads, and a fork may copy a held lock.
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        child.close()
        self._ids = itertools.count(1)
        self._shapes: dict[int, tuple[int, int]] = {}

    def writer(self, path: Path, **options: Any) -> RemoteWriter:
        ident = next(self._ids)
        self.send(("open", ident, str(path), options))
        return RemoteWriter(self, ident, path)

    def send(self, header: tuple[Any, ...], payload: np.ndarray | None = None) -> None:
        try:
            self._conn.send(header)
            if payload is not None:
                dtype = "u1" if payload.dtype == np.uint8 else "f4"
                self._conn.send((dtype, payload.shape))
                self._conn.send_bytes(payload.tobytes())
        except (BrokenPipeError, ConnectionResetError, EOFError) as exc:
            raise RenderFailed(f"the encoder process stopped: {exc}") from exc

    def reply(self, ident: int) -> None:
        try:
            got, error = self._conn.recv()
        except EOFError as exc:
            raise RenderFailed("the encoder process stopped") from exc
        if got != ident:
            raise RenderFailed(f"the encoder answered for output {got}, not {ident}")
        if error:
            raise RenderFailed(error)

    def close(self) -> None:
        try:
            self._conn.send(("quit",))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            pass
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()


def _serve(conn: multiprocessing.connection.Connection) -> None:
    writers: dict[int, Mp4Writer] = {}
    errors: dict[int, str] = {}
    while True:
        try:
            message = conn.recv()
        except EOFError:
            break
        kind = message[0]
        if kind == "quit":
            break
        ident = message[1]
        try:
            if kind in ("video", "audio"):
                dtype, shape = conn.recv()
                data = np.frombuffer(conn.recv_bytes(), dtype=np.dtype(dtype)).reshape(shape)
                if ident in writers:
                    if kind == "video":
                        writers[ident].video_packed(data)
                    else:
                        writers[ident].audio(data)
            elif kind == "open":
                writers[ident] = Mp4Writer(Path(message[2]), **message[3])
            elif kind == "close":
                writer = writers.pop(ident, None)
                if writer is not None and ident not in errors:
                    writer.close()
                conn.send((ident, errors.pop(ident, None)))
            elif kind == "abandon":
                writer = writers.pop(ident, None)
                if writer is not None:
                    writer.abandon()
        except Exception as exc:
            if ident not in errors:
                traceback.print_exc()
            errors[ident] = f"{type(exc).__name__}: {exc}"
            writer = writers.pop(ident, None)
            if writer is not None:
                writer.abandon()
            if kind == "close":
                conn.send((ident, errors.pop(ident)))
    for writer in writers.values():
        writer.abandon()
