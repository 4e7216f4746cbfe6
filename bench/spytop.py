"""Top functions of py-spy's collapsed stacks (``py-spy record --format raw``).

    .venv/bin/python bench/spytop.py /tmp/prof/*.txt [-n 30] [--self]

Prints each function's share of the samples: total (on the stack) or self (on top).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--self", action="store_true", help="self time instead of total")
    args = parser.parse_args()
    total: Counter[str] = Counter()
    own: Counter[str] = Counter()
    samples = 0
    for path in args.files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = [f.split(" (", 1)[0] + " " + _where(f) for f in stack.split(";")]
            samples += n
            for frame in set(frames):
                total[frame] += n
            own[frames[-1]] += n
    table = own if args.self else total
    print(f"{samples} samples; {'self' if args.self else 'total'} %")
    for frame, n in table.most_common(args.n):
        print(f"{100 * n / samples:6.1f}  {frame}")


def _where(frame: str) -> str:
    """``(path:line)`` shortened to the module file (lines dropped: one row a function)."""
    inside = frame.split(" (", 1)[1].rstrip(")") if " (" in frame else ""
    path = inside.rsplit(":", 1)[0]
    parts = path.split("/")
    return "/".join(parts[-3:])


if __name__ == "__main__":
    main()
