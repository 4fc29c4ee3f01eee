#!/usr/bin/env bash
# The end of the demo: the inputs of the report that training does not write, then the report itself.
#   scripts/demo-report.sh OUT        (OUT = the demo folder scripts/demo.sh wrote, e.g. out/demo)
# - perplexity/ppl.csv (+ .gaps, .summary, .histogram, .test): Fig. 5 — base and GRPO rollouts, base plain rollouts and
#   the ground truth, all scored by the base, on the first REPORT_QUESTIONS jigsaw test puzzles × REPORT_SAMPLES samples;
# - symmetry/symmetry.csv (+ .slopes): Theorem 5.2 on the base, REPORT_SYMMETRY_PAIRS pairs of prior-task answer tokens;
# - influence/gt.csv and influence/rollouts.csv (+ .tasks): one SFT step's first-order push on REPORT_PROBES prior-task
#   probes from REPORT_TRAIN jigsaw ground-truth answers and from as many of GRPO's correct rollouts (all rollouts
#   that end, if GRPO had no correct one);
# - figures/ and report.md: `analyze report`.
# About 2–3 minutes on 2 cores for the `small` preset with the defaults. ANALYZE names the binary.
set -euo pipefail
out=${1:?usage: scripts/demo-report.sh DEMO_FOLDER}
A=${ANALYZE:-.build/release/analyze}
questions=${REPORT_QUESTIONS:-200}
samples=${REPORT_SAMPLES:-16}
pairs=${REPORT_SYMMETRY_PAIRS:-10}
eta_points=${REPORT_ETA_POINTS:-11}
nprobes=${REPORT_PROBES:-60}
ntrain=${REPORT_TRAIN:-16}
d=$out/data
mkdir -p "$out/perplexity" "$out/symmetry" "$out/influence"

"$A" perplexity --base "$out/base/final" --policy "$out/grpo/final" --data "$d/jigsaw/test.jsonl" \
  --questions "$questions" --samples "$samples" --seed 0 --out "$out/perplexity/ppl.csv" --force
"$A" symmetry --checkpoint "$out/base/final" --examples "$d/prior/test.jsonl" --pairs "$pairs" --seed 0 \
  --eta-points "$eta_points" --out "$out/symmetry/symmetry.csv" --force

# Influence subsets are written beside their sources, so the examples' relative image paths stay valid.
head -n "$nprobes" "$d/prior/test.jsonl" > "$d/prior/report-probes.jsonl"
head -n "$ntrain" "$d/jigsaw-plain/train.jsonl" > "$d/jigsaw-plain/report-gt.jsonl"
if [ -s "$d/grpo-correct.jsonl" ]; then
  head -n "$ntrain" "$d/grpo-correct.jsonl" > "$d/report-rollouts.jsonl"
else
  echo "GRPO wrote no correct rollout: the influence of its rollouts uses every rollout that ends" >&2
  "$A" rollouts --checkpoint "$out/grpo/final" --data "$d/jigsaw-reasoning/train.jsonl" --limit "$ntrain" --samples 1 --as-examples \
    --out "$d/report-rollouts.jsonl" --force
fi
"$A" influence --checkpoint "$out/base/final" --train "$d/jigsaw-plain/report-gt.jsonl" --probes "$d/prior/report-probes.jsonl" \
  --out "$out/influence/gt.csv" --force
if [ -s "$d/report-rollouts.jsonl" ]; then
  "$A" influence --checkpoint "$out/base/final" --train "$d/report-rollouts.jsonl" --probes "$d/prior/report-probes.jsonl" \
    --out "$out/influence/rollouts.csv" --force
else
  echo "no GRPO rollout ended within max_seq_len: the report shows the ground truth's influence alone" >&2
  rm -f "$out/influence/rollouts.csv" "$out/influence/rollouts.tasks.csv"
fi

"$A" report --run "$out" --force
