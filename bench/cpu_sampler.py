"""A sampling profiler that counts CPU time, not wall time, for the bridge under load.

Every SAMPLE_INTERVAL of CPU used by the process (any thread: SIGPROF), the
main thread's current stack is recorded. A busy machine does not skew it (the
clock only runs while the process runs) and, unlike cProfile, it adds no cost
per function call, so small hot functions are not over-counted. CPU that other
threads use (the program mixer's) lands on whatever the event loop is doing,
usually its wait in select: read "select" as "not the event loop".

    python -m bench.floor_bench --profile /tmp/bridge.samples
    python -m bench.cpu_sampler /tmp/bridge.samples
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections import Counter
from pathlib import Path
from types import FrameType

SAMPLE_INTERVAL = 0.002  # seconds of CPU between two samples


def _where(frame: FrameType) -> str:
    code = frame.f_code
    return f"{Path(code.co_filename).name}:{code.co_name}"


class CpuSampler:
    def __init__(self, path: str) -> None:
        self.path = path
        self.stacks: Counter[tuple[str, ...]] = Counter()

    def _sample(self, signum: int, frame: FrameType | None) -> None:
        stack = []
        while frame is not None:
            stack.append(_where(frame))
            frame = frame.f_back
        self.stacks[tuple(reversed(stack))] += 1

    def arm(self) -> None:
        """Sample from SIGUSR1 to SIGUSR2 (the benchmark's measuring window)."""
        signal.signal(signal.SIGPROF, self._sample)
        signal.signal(signal.SIGUSR1, lambda *_: self._clock(SAMPLE_INTERVAL))
        signal.signal(signal.SIGUSR2, lambda *_: self._clock(0))

    def _clock(self, interval: float) -> None:
        signal.setitimer(signal.ITIMER_PROF, interval, interval)

    def stop(self) -> None:
        """Stop sampling and write the samples out."""
        self._clock(0)
        with open(self.path, "w") as out:
            for stack, count in self.stacks.most_common():
                out.write(f"{count} {';'.join(stack)}\n")


def report(path: Path, top: int) -> str:
    """Self and total share of each function, from a samples file."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        count_text, _, joined = line.partition(" ")
        count, stack = int(count_text), joined.split(";")
        samples += count
        own[stack[-1]] += count
        for where in set(stack):
            total[where] += count
    lines = [f"{samples} samples ({samples * SAMPLE_INTERVAL:.1f} s of CPU)", "", "self:"]
    lines += [f"{100 * n / samples:5.1f}%  {where}" for where, n in own.most_common(top)]
    lines += ["", "total (with callees):"]
    lines += [f"{100 * n / samples:5.1f}%  {where}" for where, n in total.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("samples", type=Path)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    sys.stdout.write(report(args.samples, args.top) + "\n")


if __name__ == "__main__":
    main()
