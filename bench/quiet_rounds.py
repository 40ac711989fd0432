"""Latency samples taken in short interleaved rounds, each round carrying the CPU steal measured while it ran.

This machine is a virtual machine beside others on one host: when the host gives our virtual CPUs' time to
another guest (steal, the 8th figure of the `cpu` line in /proc/stat), a request waits for it, and one noisy
minute used to take one operation's whole sample and its p99 with it. So every operation is timed in rounds
of about a second, the rounds of all operations take turns, and a round during which steal exceeded a
threshold is run again (up to a limit). The report gives both: the figures over every round, and those over
the quiet rounds, with the steal seen.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROC_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class CpuTimes:
    """Ticks (USER_HZ) summed over all CPUs since boot."""

    steal: int
    total: int


def read_cpu_times(path: Path = PROC_STAT) -> CpuTimes | None:
    """The aggregate `cpu` line; None where there is no /proc/stat (steal is then reported as unknown)."""
    try:
        with path.open("rb") as stat:
            first = stat.readline().split()
    except OSError:
        return None
    if not first or first[0] != b"cpu":
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already inside user/nice.
    ticks = [int(value) for value in first[1:9]]
    while len(ticks) < 8:
        ticks.append(0)
    return CpuTimes(steal=ticks[7], total=sum(ticks))


def steal_share(before: CpuTimes | None, after: CpuTimes | None) -> float | None:
    """Share of all CPU time between the two readings that the host gave to someone else."""
    if before is None or after is None or after.total <= before.total:
        return None
    return (after.steal - before.steal) / (after.total - before.total)


@dataclass
class Round:
    timings_ms: list[float]
    steal: float | None
    seconds: float

    def quiet(self, threshold: float) -> bool:
        # Where steal cannot be read, every round counts as quiet: the report then says steal is unknown.
        return self.steal is None or self.steal <= threshold


@dataclass
class Stream:
    """One operation against one target (router, subgraph or SQL); `send(i)` makes request i and returns its
    time in milliseconds, raising when the answer is wrong."""

    name: str
    send: Callable[[int], float]
    rounds: list[Round] = field(default_factory=list)
    sent: int = 0

    def timings(self, threshold: float | None = None) -> list[float]:
        return [t for r in self.rounds if threshold is None or r.quiet(threshold) for t in r.timings_ms]

    def summary(self, threshold: float) -> StreamSummary:
        return StreamSummary.of(self, threshold)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: p99 of 300 values is the 297th smallest."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


@dataclass(frozen=True)
class StreamSummary:
    quiet_p50: float
    quiet_p99: float
    quiet_requests: int
    all_p50: float
    all_p99: float
    all_requests: int
    rounds: int
    noisy_rounds: int
    mean_steal: float | None  # over all rounds, weighted by their duration
    max_steal: float | None

    @classmethod
    def of(cls, stream: Stream, threshold: float) -> StreamSummary:
        quiet, every = stream.timings(threshold), stream.timings()
        nan = float("nan")
        steals = [(r.steal, r.seconds) for r in stream.rounds if r.steal is not None]
        seconds = sum(s for _, s in steals)
        return cls(
            quiet_p50=statistics.median(quiet) if quiet else nan,
            quiet_p99=percentile(quiet, 99) if quiet else nan,
            quiet_requests=len(quiet),
            all_p50=statistics.median(every) if every else nan,
            all_p99=percentile(every, 99) if every else nan,
            all_requests=len(every),
            rounds=len(stream.rounds),
            noisy_rounds=sum(not r.quiet(threshold) for r in stream.rounds),
            mean_steal=sum(s * d for s, d in steals) / seconds if steals and seconds else None,
            max_steal=max((s for s, _ in steals), default=None),
        )


@dataclass(frozen=True)
class RoundsPlan:
    requests: int = 300  # quiet requests wanted per stream
    warmup: int = 30
    round_seconds: float = 1.0
    min_round_requests: int = 10
    quiet_steal: float = 0.02
    # A stream stops after this many times `requests` in all, quiet or not: the report then shows it short.
    max_factor: float = 4.0


def run_rounds(streams: Sequence[Stream], plan: RoundsPlan, *, progress: Callable[[str], None] | None = None,
               clock: Callable[[], float] = time.perf_counter,
               cpu_times: Callable[[], CpuTimes | None] = read_cpu_times) -> None:
    """Warms every stream up, then gives each a round in turn until each has `plan.requests` quiet requests
    (or has sent `max_factor` times as many in all)."""
    for stream in streams:
        for _ in range(plan.warmup):
            stream.send(stream.sent)
            stream.sent += 1

    def unfinished(stream: Stream) -> bool:
        return (len(stream.timings(plan.quiet_steal)) < plan.requests
                and len(stream.timings()) < plan.max_factor * plan.requests)

    cycle = 0
    while todo := [s for s in streams if unfinished(s)]:
        cycle += 1
        for stream in todo:
            timings: list[float] = []
            before, begun = cpu_times(), clock()
            while len(timings) < plan.min_round_requests or clock() - begun < plan.round_seconds:
                timings.append(stream.send(stream.sent))
                stream.sent += 1
            stream.rounds.append(Round(timings, steal_share(before, cpu_times()), clock() - begun))
        if progress is not None:
            noisy = sum(not r.quiet(plan.quiet_steal) for s in streams for r in s.rounds)
            progress(f"cycle {cycle}: {len(todo)} operations timed, {noisy} noisy rounds so far")
