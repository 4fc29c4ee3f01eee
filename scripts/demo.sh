#!/usr/bin/env bash
# The default demo: the paper's comparison (Table 1) at toy scale. Data → pretrain a base model on the prior tasks
# (and the jigsaw answer format) → SFT on 2×2 jigsaw ground truth, GRPO on 2×2 jigsaw, and SFT on GRPO's correct
# rollouts on the training prompts → evaluate each checkpoint on jigsaw and the prior tasks (≥ 200 examples per
# task, Wilson 95 % intervals) → the forgetting table (printed, and written to OUT/summary.csv); every run is also
# evaluated as it trains, so the report draws forgetting against learning and compares the runs at the same jigsaw
# accuracy (`analyze curve`).
# On 2 idle cores with the release build made: 16.3 minutes (notebook 03 §2w: data 0.7, pretraining 12.1 at 135
# steps/s, everything after it 3.4); on a slower machine of the same kind 20.4 minutes, 14.6 of them pretraining at
# 111 steps/s (notebook 04 §5; 25 minutes and 19.9 before stop 21's faster step), and from a fresh clone at stop 22
# 24.5 minutes with the release build, 16.1 of them pretraining at 98 steps/s (notebook 03 §2za), at stop 23 22.7 and
# 14.9 at 109 steps/s (§2zc), at stop 24 20.1 and 13.4 at 122 steps/s (§2zd). The DEMO_* variables scale it
# (DEMO_PRETRAIN_STEPS=50 for a smoke test).
# `make paper` (scripts/paper.sh) runs the long version through this script.
set -euo pipefail
A=${ANALYZE:-.build/release/analyze}
out=${DEMO_OUT:-out/demo}
grid=${DEMO_GRID:-2x2}
# Batch 8 × 96 000 steps (768 000 examples, 12 minutes at 135 steps/s on 2 threads, 14.6 at 111). The prior tasks that need an
# object named by colour and shape (grounding, POPE, ordering) are learnt in one late transition, which at batch 32 ×
# 32 000 steps some seeds reach and others never do before the cosine has taken the learning rate down (grounding 64,
# ordering 33 % at seed 0); at batch 8 it came within the run at every base measured (grounding past 75 % at
# 64 000–80 000 steps, four bases), for the same cost per example (notebook 03 §2v).
pretrain_steps=${DEMO_PRETRAIN_STEPS:-96000}
pretrain_batch=${DEMO_PRETRAIN_BATCH:-8}
pretrain_count=${DEMO_PRETRAIN_COUNT:-168000}
# AdamW weight decay on the weight matrices: with it the same mix and seed reached grounding 84, OCR 99.5, VQA 94.5,
# POPE 94.5 and ordering 86 % in 18 000 steps (without: 80.5 / 100 / 70.5 / 79 / 32; notebook 03 §2k).
pretrain_wd=${DEMO_PRETRAIN_WD:-0.1}
# The seed of the initialisation and the data order. The recipe below is not yet robust across seeds: at seed 1 it
# meets every prior-task target (92 / 95.5 / 97.5 / 100 / 96 % on the test sets); at seed 0 ordering ends at 79.5 %,
# at seed 2 VQA at 74.5 and ordering at 81.5 %, and 112 000 steps did not settle it (notebook 03 §2v, §2w). Seed 1's
# result needs the AVX2 BLAS kernels `analyze` pins: under the AVX-512 ones ordering ends at 32.5 % (§2y).
pretrain_seed=${DEMO_PRETRAIN_SEED:-1}
# The prior mix weighted towards the *where* tasks: of 42 parts, 11 grounding, 12 ordering, 8 POPE, 4 VQA, 2 OCR,
# 1 jigsaw-format (a task named twice is drawn twice as often), and 4 parts of strip puzzles (1×3 and 3×1, solved:
# `jigsaw-strip`). The strips make the base read where a piece came from along one axis, as a real MLLM brings visual
# knowledge to the paper's puzzles, while the 2×2 puzzle stays at chance; without them GRPO could learn the 2×2 puzzle
# only by rewriting the patch embedding and the first block, which the prior tasks read (notebook 03 §2o–2t). POPE 8
# and VQA 4 parts (6 and 2 before): with fewer, every base answered POPE by colour alone (80 %). At batch 8 this mix
# gave 89 / 93 / 92 / 100 / 79.5 % at seed 0, 92 / 95.5 / 97.5 / 100 / 96 % at seed 1 (this script) and
# 87.5 / 99.5 / 74.5 / 87 / 81.5 % at seed 2: not yet robust (§2v).
pretrain_tasks=${DEMO_PRETRAIN_TASKS:-grounding,ordering,ocr,grounding,ordering,pope,grounding,ordering,jigsaw-strip,vqa,grounding,ordering,pope,grounding,ordering,jigsaw-format,grounding,jigsaw-strip,ordering,ocr,grounding,ordering,pope,grounding,ordering,vqa,jigsaw-strip,grounding,ordering,pope,grounding,ordering,ordering,grounding,ordering,jigsaw-strip,pope,pope,vqa,vqa,pope,pope}
# One learning rate for the three fine-tunings, 1e-4, as the paper uses one (1e-6) for SFT and GRPO: the runs
# are compared at equal step sizes. (Before, SFT ran at 1e-3, the puzzle in 160 steps, while GRPO needed 1e-4 to
# keep the prior tasks; notebook 03 §2e, §2t.) At 1e-4, on the validation sets from the seed-1 base, SFT-GT reaches
# 68.8 % in 480 steps (3.8 epochs over the 4 000 puzzles, warmed up over 10 steps, cosine to 10 %) and loses 39
# points of grounding and 53.5 of OCR; in the demo, at GRPO's 18 % it has already lost 25.5 of OCR (notebook 03 §2w).
fine_tune_lr=${DEMO_LR:-1e-4}
sft_steps=${DEMO_SFT_STEPS:-480}
# GRPO for 250 updates on 4 000 prompts (1 epoch; the restart every 2 epochs, 500 updates, is not reached). The pace
# depends on the base: its accuracy reward stays at chance for 100–150 updates on the 42-part-mix bases, then rises;
# from the seed-1 base 16.5 % at 250 updates (validation sets) with every prior task within 2.5 points, from the
# seed-0 base of 96 000 steps 6.5 % at 300 (notebook 03 §2v, §2w). At lr 2e-4 the seed-1 base learns 22 % in 200
# updates and loses 12 points of VQA.
grpo_steps=${DEMO_GRPO_STEPS:-250}
grpo_lr=${DEMO_GRPO_LR:-$fine_tune_lr}
grpo_beta=${DEMO_GRPO_BETA:-0.04}
grpo_group=${DEMO_GRPO_G:-8}
# Six epochs over the correct rollouts, the paper's (SFT-GRPO Rollout-6epochs), at the same learning rate. On the
# validation sets (1 552 rollouts of the seed-1 GRPO at 250 updates) they learn 17.2 % against GRPO's 16.5 % and
# forget at most 1 point more than GRPO on any prior task; 1 epoch at 1e-3 forgot 4.5 more on grounding and OCR,
# and 2 epochs at 1e-3 (the demo's before) 25.5 more on grounding (notebook 03 §2w).
rollout_epochs=${DEMO_ROLLOUT_EPOCHS:-6}
rollout_prompts=${DEMO_ROLLOUT_PROMPTS:-2000}
prior_count=${DEMO_PRIOR_TEST:-1000}
# Jigsaw training prompts (one GRPO epoch is this / 16 updates; the periodic restart counts epochs).
jigsaw_train=${DEMO_JIGSAW_TRAIN:-4000}
# Every run is evaluated on the whole prior and jigsaw test sets as it trains (eval.csv): forgetting against learning,
# and each run beside SFT-GT at the same jigsaw accuracy (`analyze curve`, the report's forgetting curve). SFT-GT
# crosses from chance to 45 % jigsaw between steps 80 and 144, hence a dense cadence for the SFT runs. The probe sets
# (the 4 000 jigsaw answers among them) are measured less often.
sft_eval_every=${DEMO_SFT_EVAL_EVERY:-16}
sft_probe_every=${DEMO_SFT_PROBE_EVERY:-40}
grpo_eval_every=${DEMO_GRPO_EVAL_EVERY:-25}
grpo_probe_every=${DEMO_GRPO_PROBE_EVERY:-50}
d=$out/data
mkdir -p "$out/eval"
start=$(date +%s)
stage() { echo "== $1 ($(( $(date +%s) - start )) s)" >&2; }

stage "data"
gen() { "$A" data generate --force --seed 0 "$@" > /dev/null; }
[ -n "${DEMO_BASE_RUN:-}" ] || gen --tasks "$pretrain_tasks" --split train --count "$pretrain_count" --style both --grid "$grid" --out "$d/pretrain"
gen --tasks prior  --split test  --count "$prior_count" --style both                --out "$d/prior"
gen --tasks jigsaw --split train --count "$jigsaw_train" --style plain     --grid "$grid" --out "$d/jigsaw-plain"
gen --tasks jigsaw --split train --count "$jigsaw_train" --style reasoning --grid "$grid" --out "$d/jigsaw-reasoning"
gen --tasks jigsaw --split test  --count 400   --style both      --grid "$grid" --out "$d/jigsaw"
gen --tasks grounding --split test --count 100 --style plain                    --out "$d/grounding"

if [ -n "${DEMO_BASE_RUN:-}" ]; then
  # A base run made earlier with the same settings (e.g. by an interrupted demo): reused, not retrained.
  [ -f "$DEMO_BASE_RUN/final/model.safetensors" ] || { echo "DEMO_BASE_RUN=$DEMO_BASE_RUN has no final/ checkpoint" >&2; exit 2; }
  stage "pretraining: reusing $DEMO_BASE_RUN"
  rm -rf "$out/base"
  ln -s "$(cd "$DEMO_BASE_RUN" && pwd)" "$out/base"
else
  stage "pretraining: $pretrain_steps steps"
  "$A" train pretrain --preset small --data "$d/pretrain/train.jsonl" --steps "$pretrain_steps" --batch-size "$pretrain_batch" --lr 2e-3 \
    --schedule cosine --warmup 200 --clip 1 --weight-decay "$pretrain_wd" --seed "$pretrain_seed" --checkpoint-every 16000 --out "$out/base" --force > /dev/null
fi
# Probe sets whose perplexities every run logs (Fig. 3 and 6): jigsaw training answers, the prior test set, and
# the base model's own rollouts on grounding prompts.
"$A" rollouts --checkpoint "$out/base/final" --data "$d/grounding/test.jsonl" --samples 1 --as-examples \
  --out "$d/grounding-base-rollouts.jsonl" --force > /dev/null
probes=(--probe "jigsaw=$d/jigsaw-plain/train.jsonl" --probe "prior=$d/prior/test.jsonl"
        --eval-data "$d/prior/test.jsonl" --eval-data "$d/jigsaw/test.jsonl" --eval-limit $(( prior_count > 400 ? prior_count : 400 )))
if [ -s "$d/grounding-base-rollouts.jsonl" ]; then probes+=(--probe "grounding-rollouts=$d/grounding-base-rollouts.jsonl"); fi
sft=(--batch-size 32 --lr "$fine_tune_lr" --schedule cosine --warmup 10 --clip 1 "${probes[@]}" --eval-every "$sft_eval_every" --probe-every "$sft_probe_every" --force)

stage "SFT on the ground truth: $sft_steps steps"
"$A" train sft --checkpoint "$out/base/final" --data "$d/jigsaw-plain/train.jsonl" --steps "$sft_steps" "${sft[@]}" \
  --out "$out/sft-gt" > /dev/null
stage "GRPO: $grpo_steps updates"
"$A" train grpo --checkpoint "$out/base/final" --data "$d/jigsaw-reasoning/train.jsonl" --steps "$grpo_steps" \
  --lr "$grpo_lr" --beta "$grpo_beta" -G "$grpo_group" "${probes[@]}" --eval-every "$grpo_eval_every" --probe-every "$grpo_probe_every" \
  --out "$out/grpo" --force > /dev/null

# SFT on GRPO's correct rollouts (§5.3): the GRPO checkpoint answers the training prompts (4 samples each); the
# correct answers, with their think traces, are SFT data for the base, with SFT-GT's hyper-parameters and a stated
# number of epochs over them.
stage "rollouts of the GRPO checkpoint on the first $rollout_prompts training prompts"
"$A" rollouts --checkpoint "$out/grpo/final" --data "$d/jigsaw-reasoning/train.jsonl" --limit "$rollout_prompts" --samples 4 --keep correct \
  --out "$d/grpo-correct.jsonl" --force > /dev/null
runs=(base sft-gt grpo)
steps=(--steps "sft-gt=$sft_steps" --steps "grpo=$grpo_steps")
if [ -s "$d/grpo-correct.jsonl" ]; then
  n=$(wc -l < "$d/grpo-correct.jsonl")
  stage "SFT on $n correct rollouts: $rollout_epochs epochs"
  "$A" train sft --checkpoint "$out/base/final" --data "$d/grpo-correct.jsonl" --epochs "$rollout_epochs" "${sft[@]}" \
    --out "$out/sft-rollouts" > /dev/null
  # The steps the run took (epochs × batches per epoch, as `train sft --epochs` counts them), from its log.
  rollout_steps=$(tail -n 1 "$out/sft-rollouts/metrics.csv" | cut -d, -f1)
  runs+=(sft-rollouts)
  steps+=(--steps "sft-rollouts=$rollout_steps")
else
  echo "GRPO wrote no correct rollout: SFT on rollouts skipped" >&2
fi

stage "evaluation"
tables=()
for name in "${runs[@]}"; do
  for set in prior jigsaw; do
    "$A" eval --checkpoint "$out/$name/final" --data "$d/$set/test.jsonl" \
      --out "$out/eval/$name-$set.csv" --force > /dev/null
    tables+=(--eval "$name=$out/eval/$name-$set.summary.csv")
  done
done
echo
"$A" table "${tables[@]}" --steps "base=$pretrain_steps" "${steps[@]}" --out "$out/summary.csv" --force
stage "the report: perplexity distributions, symmetry, influence, figures"
scripts/demo-report.sh "$out" > /dev/null
stage "done"
echo "runs in $out/{base,sft-gt,grpo,sft-rollouts} (metrics.csv, eval.csv, probes.csv, events.out.tfevents.*, checkpoints), evaluations in $out/eval/, figures in $out/figures/, the report $out/report.md; $(( $(date +%s) - start )) s"
