#!/usr/bin/env bash
# How the shipped reference results under artifacts/runs/ref-* were made, on the real dataset.
# Runs one after another on a 2-core CPU; each prints its run folder as its last line.
#   DATA=../shared/datasets/tom_and_jerry OUT=/tmp/tomjerry-reference bash scripts/reference_results.sh
set -euo pipefail
DATA=${DATA:-../shared/datasets/tom_and_jerry}
OUT=${OUT:-/tmp/tomjerry-reference}
# The project's virtual environment (README set-up) unless PYTHON says otherwise.
py=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}

# 1. The study's grid (alexnet, zfnet, inceptionv3, efficientnet_lite0; base, tuned, tuned+aug),
#    one random split (seed 42), the CPU preset.
$py -m tomjerry study --preset fast --data "$DATA" --artifacts "$OUT/study"

# 2. The new preset on the same random split, then on the blocked split with three block seeds.
$py -m tomjerry train --preset lite0-best --data "$DATA" --artifacts "$OUT/best" --split random --split-seed 42
for seed in 42 1 2; do
  $py -m tomjerry train --preset lite0-best --data "$DATA" --artifacts "$OUT/best" --split blocked --split-seed "$seed"
done

# 3. The second-best configuration on validation (zfnet tuned, the fast preset's settings) on the
#    blocked split.
$py -m tomjerry tune --model zfnet --image-size 96 --epochs 3 --batch-size 64 --max-trials 3 --patience 2 \
  --split blocked --split-seed 42 --data "$DATA" --artifacts "$OUT/best"

# 4. Ship: tables for every run, the model of the lite0-best random-split run only.
#    python -m tomjerry ship RUN_DIR... ; python -m tomjerry ship BEST_RUN --keep-model

# 5. The accuracy levers on the shots split (README, "What raises accuracy on unseen shots"):
#    best (= lite1-best) on seeds 42, 1, 2 and on the random split (its model ships), lite0-best on
#    seeds 1 and 2 beside it for the paired comparison. Ship the tables, and the random-split
#    lite1-best run with --keep-model. Tag runs to see them in scripts/lever_table.py.
for seed in 42 1 2; do
  $py -m tomjerry train --preset best --data "$DATA" --artifacts "$OUT/levers" --split shots --split-seed "$seed" --tags "lever-K$seed"
done
$py -m tomjerry train --preset best --data "$DATA" --artifacts "$OUT/levers" --split random --split-seed 42 --tags lever-Krandom
for seed in 1 2; do
  $py -m tomjerry train --preset lite0-best --data "$DATA" --artifacts "$OUT/levers" --split shots --split-seed "$seed" --tags "lever-A$seed"
done
