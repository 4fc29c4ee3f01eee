#!/usr/bin/env bash
# The default demo: the paper's comparison at toy scale. Data → pretrain a base model on the prior tasks (and the
# jigsaw answer format) → SFT on 2×2 jigsaw ground truth, GRPO on 2×2 jigsaw, and SFT on GRPO's correct rollouts
# → evaluate each checkpoint on jigsaw and the prior tasks → the forgetting table (printed, and written to
# OUT/summary.csv). About 25 minutes on 2 cores with the defaults; the DEMO_* variables scale it
# (e.g. DEMO_PRETRAIN_STEPS=50 for a smoke test).
set -euo pipefail
A=${ANALYZE:-.build/release/analyze}
out=${DEMO_OUT:-out/demo}
pretrain_steps=${DEMO_PRETRAIN_STEPS:-20000}
sft_steps=${DEMO_SFT_STEPS:-300}
grpo_steps=${DEMO_GRPO_STEPS:-300}
eval_limit=${DEMO_EVAL_LIMIT:-500}
d=$out/data
mkdir -p "$out/eval"

gen() { "$A" data generate --force --seed 0 "$@"; }
gen --tasks prior,jigsaw-format --split train --count 24000 --style both --grid 2x2 --out "$d/pretrain"
gen --tasks prior  --split test  --count 500   --style both                 --out "$d/prior"
gen --tasks jigsaw --split train --count 2000  --style plain     --grid 2x2 --out "$d/jigsaw-plain"
gen --tasks jigsaw --split train --count 2000  --style reasoning --grid 2x2 --out "$d/jigsaw-reasoning"
gen --tasks jigsaw --split test  --count 200   --style both      --grid 2x2 --out "$d/jigsaw"
gen --tasks grounding --split test --count 100 --style plain             --out "$d/grounding"

"$A" train pretrain --preset small --data "$d/pretrain/train.jsonl" --steps "$pretrain_steps" --batch-size 32 --lr 2e-3 \
  --schedule cosine --warmup 200 --clip 1 --checkpoint-every 5000 --out "$out/base" --force
# Probe sets whose perplexities every run logs (Fig. 3 and 6): jigsaw training answers, the prior test set, and
# the base model's own rollouts on grounding prompts.
"$A" rollouts --checkpoint "$out/base/final" --data "$d/grounding/test.jsonl" --samples 1 --as-examples \
  --out "$d/grounding-base-rollouts.jsonl" --force
probes=(--probe "jigsaw=$d/jigsaw-plain/train.jsonl" --probe "prior=$d/prior/test.jsonl"
        --eval-data "$d/prior/test.jsonl" --eval-limit 100 --eval-every 50)
if [ -s "$d/grounding-base-rollouts.jsonl" ]; then probes+=(--probe "grounding-rollouts=$d/grounding-base-rollouts.jsonl"); fi
sft=(--steps "$sft_steps" --batch-size 32 --lr 1e-3 --clip 1 "${probes[@]}" --force)
"$A" train sft --checkpoint "$out/base/final" --data "$d/jigsaw-plain/train.jsonl" "${sft[@]}" --out "$out/sft-gt"
"$A" train grpo --checkpoint "$out/base/final" --data "$d/jigsaw-reasoning/train.jsonl" --steps "$grpo_steps" \
  "${probes[@]}" --out "$out/grpo" --force
# SFT on GRPO's correct rollouts (§5.3): from the base, with SFT-GT's hyper-parameters.
"$A" rollouts --checkpoint "$out/grpo/final" --data "$d/jigsaw-reasoning/train.jsonl" --samples 4 --keep correct \
  --out "$d/grpo-correct.jsonl" --force
runs=(base sft-gt grpo)
if [ -s "$d/grpo-correct.jsonl" ]; then
  "$A" train sft --checkpoint "$out/base/final" --data "$d/grpo-correct.jsonl" "${sft[@]}" --out "$out/sft-rollouts"
  runs+=(sft-rollouts)
else
  echo "GRPO wrote no correct rollout: SFT on rollouts skipped" >&2
fi

tables=()
for name in "${runs[@]}"; do
  for set in prior jigsaw; do
    "$A" eval --checkpoint "$out/$name/final" --data "$d/$set/test.jsonl" --limit "$eval_limit" \
      --out "$out/eval/$name-$set.csv" --force > /dev/null
    tables+=(--eval "$name=$out/eval/$name-$set.summary.csv")
  done
done
echo
"$A" table "${tables[@]}" --out "$out/summary.csv" --force
echo "runs in $out/{base,sft-gt,grpo,sft-rollouts} (metrics.csv, probes.csv, checkpoints), evaluations in $out/eval/"
