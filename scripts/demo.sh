#!/usr/bin/env bash
# The default demo: a new `small` checkpoint, then log-probs, a logit Jacobian and an eNTK block on the
# examples in data/demo. Outputs go to out/demo (replaced on each run).
set -euo pipefail
analyze=${ANALYZE:-.build/release/analyze}
out=out/demo
examples=data/demo/examples.jsonl
mkdir -p "$out"
"$analyze" init --preset small --seed 0 --out "$out/checkpoint" --force
"$analyze" tokenize --checkpoint "$out/checkpoint" --examples "$examples" --out "$out/tokens.jsonl" --force
"$analyze" logprobs --checkpoint "$out/checkpoint" --examples "$examples" --out "$out/logprobs.csv" --force
# ground-0:48 is the first box coordinate of the grounding answer; jigsaw-0:57 the first digit of the jigsaw answer.
"$analyze" jacobian --checkpoint "$out/checkpoint" --examples "$examples" --example ground-0 --position 48 \
  --out "$out/jacobian-ground-0-48.safetensors" --force
"$analyze" entk --checkpoint "$out/checkpoint" --examples "$examples" --u jigsaw-0:57 --v ground-0:48 \
  --out "$out/entk-jigsaw-ground.safetensors" --force
echo
echo "demo outputs in $out/:"
ls -1 "$out" | sed 's/^/  /'
