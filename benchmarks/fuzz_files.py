"""Fuzz every file reader with random mutations of valid files, and count the outcomes.

    python benchmarks/fuzz_files.py [--cases 10000] [--seed 0] [--failures DIR] [--only I ...]

Case ``i`` fuzzes target ``i mod 10`` (the six dataset readers, sparse and dense supports, the
prepared-split cache, the report's run records) with 1–3 mutations drawn from
``random.Random(f"{seed}:{i}")`` (``tests/fuzz_cases.py``), loaded in one long-lived worker
subprocess (``tests/fuzz_target.py``), so a crash is counted, not fatal. Prints markdown tables
(per target and per mutation) for ``docs/reliability.md`` and every distinct failure with a
one-line repro; each failing case is copied under ``--failures``. Exits 1 if any case gave a
traceback, a crash, a malformed error or a value breaking the loader's invariants.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz_cases import FAILURES, Worker, describe, make_case, save_failure  # noqa: E402
from tests.fuzz_target import TARGETS  # noqa: E402

OUTCOMES = ("loaded", "error", *FAILURES)
HEADINGS = {
    "loaded": "loaded",
    "error": "one-line error",
    "traceback": "traceback",
    "crash": "crash or hang",
    "bad-error": "malformed error",
    "bad-load": "invalid load",
}


def table(first: str, counts: dict[str, Counter[str]]) -> str:
    """A markdown table: one row per key, a column per outcome, and a total row."""
    head = f"| {first} | cases | " + " | ".join(HEADINGS[o] for o in OUTCOMES) + " |"
    lines = [head, "|" + "---|" * (len(OUTCOMES) + 2)]
    total: Counter[str] = Counter()
    for key, row in counts.items():
        total.update(row)
        cells = " | ".join(f"{row[o]:,}" for o in OUTCOMES)
        lines.append(f"| {key} | {sum(row.values()):,} | {cells} |")
    cells = " | ".join(f"**{total[o]:,}**" for o in OUTCOMES)
    lines.append(f"| **all** | **{sum(total.values()):,}** | {cells} |")
    return "\n".join(lines)


def op_name(applied: str) -> str:
    """``bit_flip(file: detail)`` → ``bit_flip``."""
    return applied.split("(", 1)[0].split(":", 1)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="mutated files (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--failures", type=Path, default=ROOT / "outputs" / "fuzz-failures")
    parser.add_argument("--only", type=int, action="append", help="run just case I (repeatable)")
    parser.add_argument("--targets", nargs="+", choices=sorted(TARGETS), default=list(TARGETS))
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a hang")
    args = parser.parse_args(argv)

    targets = list(args.targets)
    per_target: dict[str, Counter[str]] = {t: Counter() for t in targets}
    per_op: dict[str, Counter[str]] = defaultdict(Counter)
    found: dict[tuple[str, ...], list[Any]] = {}
    warned: Counter[str] = Counter()
    started = time.perf_counter()
    indices = args.only or range(args.cases)
    if args.failures.exists() and not args.only:
        shutil.rmtree(args.failures)
    with (
        tempfile.TemporaryDirectory(prefix="infrec-fuzz-") as tmp,
        Worker(Path(tmp), args.timeout) as worker,
    ):
        for n, i in enumerate(indices, 1):
            target = targets[i % len(targets)]
            root = Path(tmp) / f"case-{i}"
            root.mkdir()
            case = make_case(target, root, random.Random(f"{args.seed}:{i}"))
            outcome = worker.run(target, case.path)
            kind = outcome["outcome"]
            per_target[target][kind] += 1
            for op in sorted({op_name(a) for a in case.applied}):
                per_op[op][kind] += 1
            for warning in outcome.get("warnings", []):
                warned[warning] += 1
            if kind in FAILURES:
                where = outcome.get("where") or re.sub(r"\d+", "N", outcome["message"])[:50]
                key = (target, kind, outcome.get("type", ""), where)
                saved = save_failure(case, outcome, args.failures, f"{i:05d}-{target}")
                hung = outcome.get("type", "").startswith("hung")
                replay = f"{'timeout 10 ' if hung else ''}python tests/fuzz_target.py {target} "
                replay += str(saved / case.path.relative_to(root))
                entry = found.setdefault(key, [0, i, case.applied, outcome, replay])
                entry[0] += 1
            shutil.rmtree(root, ignore_errors=True)
            if n % 1000 == 0:
                rate = n / (time.perf_counter() - started)
                print(f"  {n:,} cases ({rate:.0f}/s)", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started

    command = f"python benchmarks/fuzz_files.py --cases {args.cases} --seed {args.seed}"
    if args.only:
        command = command.replace(
            f"--cases {args.cases}", " ".join(f"--only {i}" for i in args.only)
        )
    print(
        f"Fuzzing: {sum(map(sum, (c.values() for c in per_target.values()))):,} mutated files, "
        f"`{command}` ({seconds:.0f} s, {worker.starts} worker starts)\n"
    )
    print(table("target", per_target))
    print("\nPer mutation (a case with several mutations counts under each):\n")
    print(table("mutation", dict(sorted(per_op.items()))))
    if warned:
        print("\nWarnings raised by loads that succeeded (not failures):\n")
        for warning, count in warned.most_common():
            print(f"- ×{count}: {warning}")
    if not found:
        print("\nNo failures.")
        return 0
    print(
        f"\n{len(found)} distinct failures (target, outcome, type, where), copied under "
        f"{args.failures}:\n"
    )
    for (target, _, _, _), (count, i, applied, outcome, replay) in sorted(found.items()):
        print(f"- {target} ×{count}: {describe(outcome)}")
        print(f"    first: case {i}: {'; '.join(applied)}")
        print(f"    repro: {replay}")
        print(f"       or: python benchmarks/fuzz_files.py --seed {args.seed} --only {i}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
