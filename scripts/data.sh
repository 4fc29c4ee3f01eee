#!/usr/bin/env bash
# Regenerates the default datasets under data/generated/ (not committed; a few seconds) and the committed
# sample in data/sample/ with its preview picture. Same seed → byte-identical files.
set -euo pipefail
analyze=${ANALYZE:-.build/release/analyze}
gen() { "$analyze" data generate --force "$@"; }
gen --tasks prior  --split train --count 20000 --style both --seed 0 --out data/generated/prior
gen --tasks prior,jigsaw-format,jigsaw-strip --split train --count 28000 --style both --grid 2x2 --seed 0 --out data/generated/pretrain-2x2
gen --tasks prior  --split test  --count 1000  --style both --seed 0 --out data/generated/prior
gen --tasks jigsaw --split train --count 2000  --style both --grid 2x2 --seed 0 --out data/generated/jigsaw-2x2
gen --tasks jigsaw --split test  --count 200   --style both --grid 2x2 --seed 0 --out data/generated/jigsaw-2x2
gen --tasks jigsaw --split train --count 2000  --style both --grid 3x3 --seed 0 --out data/generated/jigsaw-3x3
gen --tasks jigsaw --split test  --count 200   --style both --grid 3x3 --seed 0 --out data/generated/jigsaw-3x3
gen --tasks all    --split train --count 12    --style both --grid 3x3 --seed 0 --out data/sample
"$analyze" data preview --data data/sample/train.jsonl --count 12 --out data/sample/preview.png --force
