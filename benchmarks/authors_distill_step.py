"""Seconds per Distill-CF step of the authors' code (noveens/distill_cf), the step alone.

Run from the distill_cf checkout, with the authors' environment (benchmarks/authors.py does):
    <their python> <infrec>/benchmarks/authors_distill_step.py [steps]
Builds everything exactly as their distill.py main/train_complete does (hyper_params.py
defaults: mu = 500, gamma = 200, batch_size -1 = all 6,040 targets, Adam 0.04), calls their jitted
update_fn once to compile, then times `steps` iterations of their training-loop body
(sample_training_batch, update_fn, get_params), blocking on the result; no validation passes.
Not part of their repository: a timing driver of infrec's (benchmarks/authors.py runs it); it
imports their modules and changes nothing in them.
"""

import copy
import random
import sys
import time

import numpy as np

sys.path.insert(0, ".")
# their distill.py sets XLA's environment before JAX is imported, as in their runs
# isort: off
from data import Dataset
from distill import get_update_functions, initialize
from hyper_params import hyper_params
import jax

# isort: on

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
np.random.seed(hyper_params["seed"])
random.seed(hyper_params["seed"])
data = Dataset(hyper_params)
hp = copy.deepcopy(hyper_params)
hp.update(
    num_users=data.num_users, num_items=data.num_items, num_interactions=data.num_interactions
)
key = jax.random.PRNGKey(hp["seed"])
opt_state, get_params, update_fn, _, _, grad_zeros = get_update_functions(hp, initialize(hp, data))
params = get_params(opt_state)
acc = grad_zeros(params)
reg = 1.0  # their loop passes the lambda of the last validation grid; it does not change the cost

t0 = time.perf_counter()
opt_state, acc, key = update_fn(1, opt_state, params, acc, data.sample_training_batch(), key, reg)
params = get_params(opt_state)
jax.block_until_ready(params)
print(f"first step (with compilation) {time.perf_counter() - t0:.2f} s", flush=True)
times = []
for i in range(2, steps + 2):
    t0 = time.perf_counter()
    target_data = data.sample_training_batch()
    opt_state, acc, key = update_fn(i, opt_state, params, acc, target_data, key, reg)
    params = get_params(opt_state)
    jax.block_until_ready(params)
    times.append(time.perf_counter() - t0)
    print(f"step {i} {times[-1]:.2f} s", flush=True)
print(f"authors s/step {np.median(times):.3f} median over {steps} steps (min {min(times):.3f})")
