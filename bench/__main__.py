"""Run every benchmark module in ``bench/`` and print one line per figure.

Each ``bench/bench_*.py`` module exposes ``run() -> Iterable[tuple[str, float, str]]`` yielding
``(name, value, unit)``; this prints them as ``<name>: <value> <unit>``. Pass module names
(``python -m bench policy``) to run a subset.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Discover and run the benchmarks named in ``argv`` (all when empty)."""
    here = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")
    )
    if argv:
        names = [n for n in names if n.removeprefix("bench_") in argv or n in argv]
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        for figure, value, unit in module.run():
            shown = f"{value:.3f}" if isinstance(value, float) and value < 100 else f"{value:.0f}"
            print(f"{figure}: {shown} {unit}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
