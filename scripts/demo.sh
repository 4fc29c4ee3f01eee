#!/usr/bin/env bash
# The default demo: the paper's comparison at toy scale. Data → pretrain a base model on the prior tasks → SFT on
# 2×2 jigsaw ground truth, and GRPO on 2×2 jigsaw → evaluate each checkpoint on jigsaw and the prior tasks → the
# forgetting table (printed, and written to OUT/summary.csv). About 7 minutes on 2 cores with the defaults;
# the DEMO_* variables scale it (e.g. DEMO_PRETRAIN_STEPS=50 for a smoke test).
set -euo pipefail
A=${ANALYZE:-.build/release/analyze}
out=${DEMO_OUT:-out/demo}
pretrain_steps=${DEMO_PRETRAIN_STEPS:-8000}
sft_steps=${DEMO_SFT_STEPS:-300}
grpo_steps=${DEMO_GRPO_STEPS:-100}
eval_limit=${DEMO_EVAL_LIMIT:-500}
d=$out/data
mkdir -p "$out/eval"

gen() { "$A" data generate --force --seed 0 "$@"; }
gen --tasks prior  --split train --count 20000 --style both                 --out "$d/prior"
gen --tasks prior  --split test  --count 500   --style both                 --out "$d/prior"
gen --tasks jigsaw --split train --count 2000  --style plain     --grid 2x2 --out "$d/jigsaw-plain"
gen --tasks jigsaw --split train --count 2000  --style reasoning --grid 2x2 --out "$d/jigsaw-reasoning"
gen --tasks jigsaw --split test  --count 200   --style both      --grid 2x2 --out "$d/jigsaw"

"$A" train pretrain --preset small --data "$d/prior/train.jsonl" --steps "$pretrain_steps" --batch-size 32 --lr 2e-3 \
  --schedule cosine --warmup 200 --clip 1 --checkpoint-every 2000 --out "$out/base" --force
probes=(--probe "jigsaw=$d/jigsaw-plain/train.jsonl" --probe "prior=$d/prior/test.jsonl" --eval-every 50)
"$A" train sft --checkpoint "$out/base/final" --data "$d/jigsaw-plain/train.jsonl" --steps "$sft_steps" --batch-size 32 \
  --lr 1e-3 --clip 1 "${probes[@]}" --out "$out/sft-gt" --force
"$A" train grpo --checkpoint "$out/base/final" --data "$d/jigsaw-reasoning/train.jsonl" --steps "$grpo_steps" \
  "${probes[@]}" --out "$out/grpo" --force

tables=()
for name in base sft-gt grpo; do
  for set in prior jigsaw; do
    "$A" eval --checkpoint "$out/$name/final" --data "$d/$set/test.jsonl" --limit "$eval_limit" \
      --out "$out/eval/$name-$set.csv" --force > /dev/null
    tables+=(--eval "$name=$out/eval/$name-$set.summary.csv")
  done
done
echo
"$A" table "${tables[@]}" --out "$out/summary.csv" --force
echo "runs in $out/{base,sft-gt,grpo} (metrics.csv, probes.csv, checkpoints), evaluations in $out/eval/"
