#!/usr/bin/env bash
# Distill-CF against User-RNS and head users on the paper's ML-1M split, at 50, 100 and 500 users
# (random users: mean of seeds 42, 43, 44), ∞-AE and EASE fitted on every support, then one table.
#   bash benchmarks/ml1m_budgets.sh [path to ml-1m-paper] [output folder]
# Distilled supports are cached in outputs/supports (a rerun with the same settings reuses them).
set -euo pipefail
DATA=${1:-../shared/datasets/ml-1m-paper}
OUT=${2:-outputs/studies/ml1m_budgets}
GRID='model.lambdas=[0,1e-5,1e-3,0.1,1,5,20,50,100]'   # one ∞-AE grid for every support
COMMON=(dataset=ml-1m-paper "dataset.path=$DATA" logger=none)

infrec-train -m "${COMMON[@]}" sampler=distill_cf sampler.budget=50,100,500 "$GRID" \
  hydra.sweep.dir="$OUT/distill_cf"
infrec-train -m "${COMMON[@]}" sampler=random_user,head_user sampler.budget=50,100,500 \
  seed=42,43,44 "$GRID" hydra.sweep.dir="$OUT/samplers"
# EASE on the 500-user Distill-CF support beside EASE on 500 random users
SUPPORT=$(ls -t outputs/supports/ml-1m-paper-distill_cf-500-*.npz | head -1)
infrec-train -m "${COMMON[@]}" model=ease sampler=from_file "sampler.path=$SUPPORT" \
  hydra.sweep.dir="$OUT/ease_distill"
infrec-train -m "${COMMON[@]}" model=ease sampler=random_user sampler.budget=500 seed=42,43,44 \
  hydra.sweep.dir="$OUT/ease_random"
infrec-report "$OUT"
