#!/usr/bin/env bash
# The converged study grid (`study --preset cpu`) on the real data and the shots split, run in the
# background at the lowest priority; run it again after an interruption and it resumes the same
# study (finished cells kept, a stopped cell continues after its last finished epoch or trial).
#   GRID_ARTIFACTS=/work/grid-artifacts scripts/cpu_grid.sh      (outside the repository: hours of runs)
set -euo pipefail
cd "$(dirname "$0")/.."
ART=${GRID_ARTIFACTS:-/work/grid-artifacts}
DATA=${TOMJERRY_DATA:-../shared/datasets/tom_and_jerry}
study=$(ls -d "$ART"/studies/*-cpu 2>/dev/null | tail -n 1 || true)
if [[ -n $study ]]; then
  exec nice -n 19 .venv/bin/python -m tomjerry study --resume "$study" --artifacts "$ART" --data "$DATA"
fi
exec nice -n 19 .venv/bin/python -m tomjerry study --preset cpu --split shots --split-seed 42 \
  --models efficientnet_lite0,alexnet,zfnet --artifacts "$ART" --data "$DATA"
