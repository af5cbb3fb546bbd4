#!/bin/bash
# bf16 vs float32 training parity (issue 11): 500 steps of small-64 on SynthFaces in
# each precision, one after the other, then the same evaluation of both.
# Needs data/synth64.cache and data/synth64_fresh (docs/bundled-model.md). Run it on an
# otherwise idle CPU: the two wall times are part of the result.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} PYTHONPATH=src
C="--data data/synth64.cache --preset small --size 64 --steps 500 --n-d 1 --lr-decay-at 1.0
   --checkpoint-every 500 --sample-every 0 --no-progress --seed 0"
for amp in bf16 none; do
  /usr/bin/time -f "train_$amp %e s" .venv/bin/intergan train --out runs/parity_$amp --amp $amp $C
  .venv/bin/intergan evaluate --model runs/parity_$amp --no-ema --data data/synth64_fresh \
      --split all --judge synthfaces-64 --n 200 --no-progress --out out/eval_parity_$amp
done
