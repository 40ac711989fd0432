"""bench/quiet_rounds.py: rounds during which the host took the CPUs away are run again and reported apart."""

from __future__ import annotations

from pathlib import Path

from bench.quiet_rounds import CpuTimes, RoundsPlan, Stream, read_cpu_times, run_rounds, steal_share


def test_reads_steal_from_the_cpu_line(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 5 50 800 10 0 5 30 0 0\ncpu0 50 2 25 400 5 0 3 15 0 0\n")
    assert read_cpu_times(stat) == CpuTimes(steal=30, total=1000)
    assert read_cpu_times(tmp_path / "missing") is None


def test_steal_share_between_two_readings() -> None:
    assert steal_share(CpuTimes(10, 1000), CpuTimes(30, 1200)) == 0.1
    assert steal_share(None, CpuTimes(30, 1200)) is None
    assert steal_share(CpuTimes(10, 1000), CpuTimes(10, 1000)) is None


class FakeMachine:
    """A clock that moves 1/64 s (exact in binary) per request and a /proc/stat whose steal is scripted per round."""

    def __init__(self, steal_per_round: list[float]) -> None:
        self.now = 0.0
        self.steal = 0
        self.total = 0
        self.readings = 0
        self.steal_per_round = steal_per_round

    def clock(self) -> float:
        return self.now

    def cpu_times(self) -> CpuTimes:
        # Readings come in pairs (round start, round end): the end reading adds that round's steal.
        self.readings += 1
        if self.readings % 2 == 0:
            share = self.steal_per_round.pop(0) if self.steal_per_round else 0.0
            self.total += 200
            self.steal += round(200 * share)
        return CpuTimes(self.steal, self.total)

    def stream(self, name: str, latency_ms: float) -> Stream:
        def send(_i: int) -> float:
            self.now += 1 / 64
            return latency_ms

        return Stream(name, send)


def test_noisy_rounds_are_run_again_until_enough_quiet_requests() -> None:
    machine = FakeMachine([0.0, 0.0, 0.30, 0.0, 0.0, 0.0])
    lookup, statistic = machine.stream("lookup", 4.0), machine.stream("statistics", 15.0)
    plan = RoundsPlan(requests=128, warmup=5, round_seconds=1.0, quiet_steal=0.02)
    run_rounds([lookup, statistic], plan, clock=machine.clock, cpu_times=machine.cpu_times)

    # 64 requests a round: the lookup's second round was noisy and is run again.
    assert [r.steal for r in lookup.rounds] == [0.0, 0.3, 0.0]
    assert len(lookup.timings(plan.quiet_steal)) == 128
    assert len(lookup.timings()) == 192
    summary = lookup.summary(plan.quiet_steal)
    assert (summary.rounds, summary.noisy_rounds, summary.quiet_requests) == (3, 1, 128)
    assert summary.max_steal == 0.3
    assert len(statistic.rounds) == 2 and statistic.sent == 133  # warm-up requests are sent, not kept


def test_a_stream_that_never_gets_quiet_rounds_stops_at_the_limit() -> None:
    machine = FakeMachine([0.5] * 100)
    stream = machine.stream("lookup", 4.0)
    run_rounds([stream], RoundsPlan(requests=64, warmup=0, round_seconds=1.0, max_factor=3),
               clock=machine.clock, cpu_times=machine.cpu_times)
    summary = stream.summary(0.02)
    assert (summary.rounds, summary.quiet_requests, summary.all_requests) == (3, 0, 192)
    assert summary.all_p99 == 4.0


def test_rounds_take_turns_across_streams() -> None:
    machine = FakeMachine([])
    order: list[str] = []
    streams = []
    for name in ("a", "b"):
        inner = machine.stream(name, 1.0)

        def send(i: int, inner: Stream = inner, name: str = name) -> float:
            if not order or order[-1] != name:
                order.append(name)
            return inner.send(i)

        streams.append(Stream(name, send))
    run_rounds(streams, RoundsPlan(requests=192, warmup=0), clock=machine.clock, cpu_times=machine.cpu_times)
    assert order == ["a", "b", "a", "b", "a", "b"]
