#!/usr/bin/env bash
# The everyday scale rung: the paper's Netflix table on netflix_synthetic_small, end to end.
#
#     bash benchmarks/scale_rung.sh [OUT]        # OUT: default outputs/scale/rung-<date-time>
#
# Runs README "Scale"'s rung commands one after another (Hydra multiruns where a row group is a
# product), each under /usr/bin/time, with its own support dir under OUT so that both Distill-CF
# summaries are distilled here, not taken from an earlier run's cache. Prints each command's wall
# time and peak RSS as it ends, the whole wall time, and a table of every run: its overrides
# after the rung's (Distill-CF's as $D), the λ chosen on validation, Distill-CF's best step, test
# nDCG@10 and HR@100 ×100 and the run's own seconds (also written to OUT/table.txt).
# Needs the prepared rung (`infrec-fetch dataset=netflix_synthetic_small`, 10 s), GNU time, and
# the project's environment active (infrec-train on PATH).
set -euo pipefail

for tool in infrec-train /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool not found: activate the project's environment (README, set-up) and install GNU time" >&2; exit 2; }
done

OUT=${1:-outputs/scale/rung-$(date +%Y%m%d-%H%M%S)}
if [[ -e $OUT && ! -d $OUT ]] || [[ -d $OUT && -n $(ls -A "$OUT") ]]; then
  echo "$OUT: already exists; name a new folder (the rung writes its runs there)" >&2
  exit 2
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
S="dataset=netflix_synthetic_small runtime.memory_gb=20 logger=none paths.support_dir=$OUT/supports"
D="sampler=distill_cf sampler.target_batch=1024 sampler.val_users=10000 sampler.lr=0.1 sampler.steps=200 sampler.patience=50"

n=0
row() {  # row NAME run|sweep infrec-train-arguments…: one command, timed, its runs in OUT/NAME
  local name=$1 dir=("hydra.run.dir=$OUT/$1")
  [[ $2 == sweep ]] && dir=(-m "hydra.sweep.dir=$OUT/$1")
  shift 2
  n=$((n + 1))
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" infrec-train "${dir[@]}" $S "$@" \
    >"$OUT/$name.log" 2>&1 || { echo "$name failed: see $OUT/$name.log" >&2; exit 1; }
  awk -v n="$n" -v name="$name" 'END { printf "%d. %-16s %6.0f s wall  %5.2f GiB peak RSS\n", n, name, $1, $2 / 1048576 }' "$OUT/$name.time"
}

start=$(date +%s)
row poprec run model=poprec
row ease-all run model=ease 'model.lambdas=[1000,5000,20000]'
row iae-random sweep sampler=random_user sampler.budget=0.05,500,2000
row ease-random sweep sampler=random_user sampler.budget=500,2000 model=ease
row nystrom-5000 run model.solver=nystrom model.landmarks=5000 'model.lambdas=[5,24,120]'
row iae-distill sweep $D sampler.budget=500,2000
row ease-distill sweep $D sampler.budget=500,2000 model=ease 'model.lambdas=[0.01,0.1,0.3,1]'
row nystrom-distill run $D sampler.budget=500 model.solver=nystrom 'model.lambdas=[0.2,1,5,24]'
took=$(($(date +%s) - start))
echo "the rung: $((took / 60)) min $((took % 60)) s wall in all; runs in $OUT"
D=$D python - "$OUT" <<'TABLE' | tee "$OUT/table.txt"
import json
import os
import sys
from pathlib import Path

out = Path(sys.argv[1])
common = ("dataset=", "runtime.memory_gb=", "logger=", "paths.support_dir=")
print("| run | overrides (after the rung's) | λ | Distill-CF best step | test nDCG@10 | HR@100 | run s |")
print("|---|---|---|---|---|---|---|")
for metrics in sorted(out.glob("**/metrics.json")):
    m = json.loads(metrics.read_text())
    lines = (metrics.parent / ".hydra" / "overrides.yaml").read_text().splitlines()
    args = [a.removeprefix("- ") for a in lines if not a.removeprefix("- ").startswith(common)]
    step = m.get("support/best_step")
    lam = "—" if m.get("hp/lambda") is None else f"{m['hp/lambda']:g}"
    print(
        f"| {metrics.parent.relative_to(out)} | {' '.join(args).replace(os.environ['D'], '$D')} | {lam} "
        f"| {'—' if step is None else int(step)} | {100 * m['test/ndcg@10']:.2f} "
        f"| {100 * m['test/hr@100']:.2f} | {m['time/total_s']:.0f} |"
    )
TABLE
