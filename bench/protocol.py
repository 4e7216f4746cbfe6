"""Render and parse operations per second for XML and JSON, on one core.

Reproduce:  .venv/bin/python bench/protocol.py
Target: >= 20,000 parses/s on one core (issue 2).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from voiceotp.protocol import Format, GetNumResult, SubmitResult, parse_result, render_result


def rate(fn: Callable[[], object], seconds: float = 1.0) -> float:
    """Calls per second of ``fn``, best of three runs of about ``seconds`` each."""
    best = 0.0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(1000):
                fn()
            n += 1000
        best = max(best, n / elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="length of each of 3 timed runs (default 1)"
    )
    seconds = parser.parse_args().seconds
    results = {
        "SubmitResult": SubmitResult(2, "提交成功", "60495654"),
        "GetNumResult": GetNumResult(2, "查询成功", 20023),
    }
    print(f"{'document':<14}{'format':<14}{'render/s':>12}{'parse/s':>12}")
    for name, result in results.items():
        for label, fmt, ns in (
            ("xml", Format.XML, None),
            ("xml+xmlns", Format.XML, "http://106.ihuyi.com/"),
            ("json", Format.JSON, None),
        ):
            body = render_result(result, fmt, namespace=ns)
            assert parse_result(body) == result
            r = rate(lambda: render_result(result, fmt, namespace=ns), seconds)  # noqa: B023
            p = rate(lambda: parse_result(body), seconds)  # noqa: B023
            print(f"{name:<14}{label:<14}{r:>12,.0f}{p:>12,.0f}")
    print("\nreproduce: .venv/bin/python bench/protocol.py   (target: >= 20,000 parses/s)")


if __name__ == "__main__":
    main()
