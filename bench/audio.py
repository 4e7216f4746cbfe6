"""Prompt audio costs: clip generation, G.711 throughput, render latency.

Reproduce:  .venv/bin/python bench/audio.py
With numpy importable (it is not a dependency) the G.711 encoder is also timed as a numpy
table lookup, to show what adding numpy would buy:  PYTHONPATH=src python3 bench/audio.py
Figures are wall-clock on a shared machine: run once, read as orders of magnitude.
"""

from __future__ import annotations

import argparse
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from voiceotp.delivery.audio import (
    load_prompt_set,
    pcm16_to_alaw,
    pcm16_to_ulaw,
    render_prompt,
    ulaw_to_pcm16,
)
from voiceotp.delivery.audio.g711 import _encode_table


def best_of(fn: Callable[[], object], runs: int = 5) -> float:
    """Shortest wall time of ``runs`` calls, in seconds."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_clips(cache: Path) -> None:
    for language in ("zh", "en"):
        cold = best_of(lambda lang=language: load_prompt_set(lang, cache_dir=cache), runs=1)
        warm = best_of(lambda lang=language: load_prompt_set(lang, cache_dir=cache))
        print(
            f"prompt set {language}: espeak-ng + convert {cold:6.2f} s, "
            f"from cache {warm * 1e3:6.1f} ms"
        )


def bench_g711() -> None:
    ten_seconds = struct.pack("<80000h", *((i * 37) % 65536 - 32768 for i in range(80000)))
    for name, fn in (("µ-law encode", pcm16_to_ulaw), ("A-law encode", pcm16_to_alaw)):
        fn(ten_seconds)  # build the table outside the timing
        t = best_of(lambda f=fn: f(ten_seconds))
        print(f"{name}: {t * 1e3:6.2f} ms per 10 s of audio ({80000 / t / 1e6:5.1f} M samples/s)")
    codes = pcm16_to_ulaw(ten_seconds)
    t = best_of(lambda: ulaw_to_pcm16(codes))
    print(f"µ-law decode: {t * 1e3:6.2f} ms per 10 s of audio ({80000 / t / 1e6:5.1f} M samples/s)")
    try:
        import numpy as np
    except ImportError:
        print("numpy not importable: numpy comparison skipped")
        return
    table = np.frombuffer(_encode_table("ulaw"), dtype=np.uint8)
    t = best_of(lambda: table[np.frombuffer(ten_seconds, dtype="<u2")].tobytes())
    print(f"µ-law encode with numpy {np.__version__}: {t * 1e3:6.2f} ms per 10 s of audio")


def bench_render(cache: Path) -> None:
    prompts = load_prompt_set("zh", cache_dir=cache)
    first = best_of(lambda: render_prompt("000000", prompts=prompts), runs=1)
    print(f"first render (G.711 tables + clip encoding): {first * 1e3:6.1f} ms")
    codes = iter(f"{n:06d}" for n in range(1, 10**6))
    each = best_of(lambda: render_prompt(next(codes), repeat=3, prompts=prompts), runs=50)
    p = render_prompt("482913", repeat=3, prompts=prompts)
    # Renders are not cached (each is a code, spoken: docs/privacy.md).
    print(f"render 6 digits x3 ({p.duration_s:.1f} s audio): {each * 1e3:.2f} ms")


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_clips(Path(tmp))
        bench_g711()
        bench_render(Path(tmp))


if __name__ == "__main__":
    main()
