"""The synthetic population generator's CPU per person, single process: world persons alone
(db/seed/world.py `persons`) and the whole population path, blocks to table rows
(db/seed/population.py `population_blocks` -> subgraphs/population/seed.py `block_rows`).

  python -m bench.generator [--blocks 8] [--seed 20260101] [--first 0] [--rounds 1]

Blocks are taken from `--first` on (a block is 4,096 persons); each figure is the best of `--rounds` rounds.
"""

from __future__ import annotations

import argparse
import time

from db.seed.population import BLOCK, population_blocks
from db.seed.world import MAX_PERSONS, persons
from subgraphs.population.seed import block_rows


def world_us(seed: int, count: int) -> float:
    started = time.perf_counter()
    for _ in persons(seed, count):
        pass
    return (time.perf_counter() - started) / count * 1e6


def rows_us(seed: int, first: int, blocks: int) -> float:
    started = time.perf_counter()
    n = 0
    for block in population_blocks(seed, MAX_PERSONS, first=first, stop=first + blocks):
        n += len(block_rows(block, MAX_PERSONS)["person"])
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=8, help="blocks of 4,096 persons (default 8)")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--first", type=int, default=0, help="first block (default 0)")
    parser.add_argument("--rounds", type=int, default=1, help="best of this many rounds (default 1)")
    args = parser.parse_args()
    world = min(world_us(args.seed, args.blocks * BLOCK) for _ in range(args.rounds))
    rows = min(rows_us(args.seed, args.first, args.blocks) for _ in range(args.rounds))
    print(f"world persons      {world:7.1f} µs/person")
    print(f"block_rows (full)  {rows:7.1f} µs/person  ({args.blocks} blocks from block {args.first}, seed {args.seed})")


if __name__ == "__main__":
    main()
