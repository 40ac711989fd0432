"""`python -m db.seed --persons 1000000`: migrate and seed the database named by DATABASE_URL.

The same as `make seed` / `python -m subgraphs.launch setup`: each subgraph seeds its own part of the
synthetic world; a subgraph that already has data is left alone.
"""

from __future__ import annotations

import sys

from subgraphs.launch import main

if __name__ == "__main__":
    main(["setup", *sys.argv[1:]])
