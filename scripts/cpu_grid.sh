#!/usr/bin/env bash
# The converged study grid (`study --preset cpu`) on the real data and the shots split, run in the
# background at the lowest priority; run it again after an interruption and it resumes the same
# study (finished cells kept, a stopped cell continues after its last finished epoch or trial).
#   scripts/cpu_grid.sh   (into grid/: its light files are committed between sessions; models are not)
#   before a session ends: stop it, then .venv/bin/python scripts/grid_snapshot.py && git add grid
set -euo pipefail
cd "$(dirname "$0")/.."
ART=${GRID_ARTIFACTS:-grid}
DATA=${TOMJERRY_DATA:-../shared/datasets/tom_and_jerry}
study=$(ls -d "$ART"/studies/*-cpu 2>/dev/null | tail -n 1 || true)
if [[ -n $study ]]; then
  exec nice -n 19 .venv/bin/python -m tomjerry study --resume "$study" --artifacts "$ART" --data "$DATA"
fi
exec nice -n 19 .venv/bin/python -m tomjerry study --preset cpu --split shots --split-seed 42 \
  --models efficientnet_lite0,alexnet,zfnet --artifacts "$ART" --data "$DATA"
