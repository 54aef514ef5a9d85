"""Starts the benchmark's child processes, talks to them in JSON lines, and always stops them.

Each child runs `python -m bench.<module>` from the repository root, with its
stderr in a log file that is shown when it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import psutil

ROOT = Path(__file__).resolve().parent.parent


class ChildFailed(RuntimeError):
    """A child process died, timed out, or answered a command with an error."""


class Child:
    """One child process and the JSON lines it sends."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: IO[bytes]) -> None:
        self.name = name
        self.process = process
        self.log = log
        self.ps = psutil.Process(process.pid)

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process, all its threads included."""
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def log_tail(self, lines: int = 25) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    async def expect(self, event: str, timeout: float) -> dict[str, Any]:
        """Wait for the child's next `event` line; raise ChildFailed if it dies or errs."""
        assert self.process.stdout is not None
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                line = await asyncio.wait_for(self.process.stdout.readline(), max(left, 0.01))
            except TimeoutError:
                raise ChildFailed(f"{self.name}: no '{event}' within {timeout:.0f} s") from None
            if not line:
                raise ChildFailed(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                message = json.loads(line)
            except ValueError:
                continue  # a stray print from a library: not ours
            if message.get("event") != event:
                continue
            if "error" in message:
                raise ChildFailed(f"{self.name}: {event} failed: {message['error']}")
            return dict(message)

    async def ask(self, command: str, timeout: float = 10.0) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write((command + "\n").encode())
        await self.process.stdin.drain()
        return await self.expect(command.split()[0], timeout)

    async def stop(self) -> None:
        """Ask politely (`stop`, then closing stdin), then SIGTERM, then SIGKILL, by pid."""
        process = self.process
        if process.returncode is None and process.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                process.stdin.write(b"stop\n")
                await process.stdin.drain()
                process.stdin.close()
        for signal_it, grace in ((None, 8.0), (process.terminate, 3.0), (process.kill, 3.0)):
            if process.returncode is not None:
                break
            if signal_it is not None:
                with contextlib.suppress(ProcessLookupError):
                    signal_it()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), grace)
        self.log.close()


class Fleet:
    """The children of one scenario; leaving the `async with` stops them all, newest first."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_all()

    async def stop_all(self) -> None:
        while self.children:
            child = self.children[-1]
            await child.stop()
            self.children.remove(child)

    def kill_leftovers(self) -> None:
        """Last resort after the event loop is gone (e.g. a second Ctrl-C): SIGKILL by pid."""
        for child in self.children:
            if child.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()

    async def start(self, name: str, module: str, *args: str, wrapper: Sequence[str] = ()) -> Child:
        """Run `python -m module args`, behind `wrapper` (e.g. `ip netns exec NAME`) if given.

        The wrapper must exec the command in place, so the pid (and its CPU) is the child's.
        """
        log = (self.log_dir / f"{name}.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            *wrapper,
            sys.executable,
            "-m",
            module,
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
        child = Child(name, process, log)
        self.children.append(child)
        return child
