#!/usr/bin/env bash
# A fixed set of commands on the `small` preset whose outputs must keep their bytes across a refactoring (issue 14):
# data, a short pretraining run with periodic evaluation, probes and checkpoints, a resume, SFT and GRPO from it,
# eval, rollouts, logprobs, eNTK kernels (with and without --blocks), entk, decompose, influence and symmetry.
# Usage: scripts/compare/restructure-identity.sh OUT [ANALYZE]. Outputs name OUT in places (run records, stdout), so
# compare two binaries by running both into the same OUT and moving the first aside:
#   scripts/compare/restructure-identity.sh /tmp/idcheck OLD && mv /tmp/idcheck /tmp/ref
#   scripts/compare/restructure-identity.sh /tmp/idcheck NEW
#   diff -r -x '*.tfevents.*' -x '*.meta.json' /tmp/ref /tmp/idcheck && diff -r /tmp/ref/meta-stripped /tmp/idcheck/meta-stripped
# Left out of the byte comparison: TensorBoard event files (their names and records carry wall times) and the
# "seconds" line of the X.meta.json run records (kernel, entk); OUT/meta-stripped/ holds every X.meta.json without
# it. stdout of each command goes to OUT/stdout/NAME.txt, with the timings kernel, entk and jacobian print masked.
set -euo pipefail
out=${1:?usage: restructure-identity.sh OUT [ANALYZE]}
A=$(realpath "${2:-.build/release/analyze}")
rm -rf "$out"
mkdir -p "$out/stdout"
# Everything below runs inside OUT with relative paths, so the files (run records, CSVs quoting paths) do not
# depend on where OUT is.
final=$(realpath "$out")
cd "$out"
out=.
run() { local name=$1; shift; "$A" "$@" > "$out/stdout/$name.txt"; }
T=(--threads 2)

run gen-prior data generate --tasks prior --split train --count 96 --style both --seed 0 --out "$out/data/prior" "${T[@]}"
run gen-test  data generate --tasks prior --split test --count 24 --style both --seed 1 --out "$out/data/test" "${T[@]}"
run gen-jig   data generate --tasks jigsaw --split train --count 24 --style reasoning --grid 2x2 --out "$out/data/jig" "${T[@]}"
run gen-jigp  data generate --tasks jigsaw --split train --count 24 --style plain --grid 2x2 --out "$out/data/jigp" "${T[@]}"

run pretrain train pretrain --preset small --data "$out/data/prior/train.jsonl" --steps 60 --batch-size 8 --lr 2e-3 \
  --schedule cosine --warmup 5 --clip 1 --checkpoint-every 30 --eval-data "$out/data/test/test.jsonl" --eval-every 20 --eval-limit 12 \
  --probe "jig=$out/data/jigp/train.jsonl" --probe "test=$out/data/test/test.jsonl" --out "$out/base" "${T[@]}"
# A resume from step 30 into a copy of the run folder: the rest of the run again, bit-exactly.
cp -r "$out/base" "$out/base-resumed"
rm -rf "$out/base-resumed/final"
run resume train pretrain --resume "$out/base-resumed/checkpoints/step-000030" --steps 60 --out "$out/base-resumed" --force "${T[@]}"
run sft train sft --checkpoint "$out/base/final" --data "$out/data/jigp/train.jsonl" --steps 6 --batch-size 8 --lr 1e-3 \
  --eval-data "$out/data/test/test.jsonl" --eval-every 3 --eval-limit 8 --probe "jig=$out/data/jigp/train.jsonl" --checkpoint-every 3 --out "$out/sft" "${T[@]}"
run sft-sgd train sft --checkpoint "$out/base/final" --data "$out/data/jigp/train.jsonl" --steps 2 --optimizer sgd --batch-size 4 --no-shuffle --out "$out/sft-sgd" "${T[@]}"
run grpo train grpo --checkpoint "$out/base/final" --data "$out/data/jig/train.jsonl" --steps 3 -G 4 --batch-size 2 --accumulation 2 \
  --eval-data "$out/data/test/test.jsonl" --eval-every 2 --eval-limit 6 --probe "jig=$out/data/jigp/train.jsonl" --checkpoint-every 2 --out "$out/grpo" "${T[@]}"
run grpo-resume train grpo --resume "$out/grpo/checkpoints/step-000002" --out "$out/grpo-resumed" "${T[@]}"

run eval eval --checkpoint "$out/base/final" --data "$out/data/test/test.jsonl" --limit 12 --out "$out/eval/base.csv" "${T[@]}"
run eval-sample eval --checkpoint "$out/grpo/final" --data "$out/data/jig/train.jsonl" --limit 6 --sample 2 --out "$out/eval/grpo.csv" "${T[@]}"
run rollouts rollouts --checkpoint "$out/grpo/final" --data "$out/data/jig/train.jsonl" --limit 6 --samples 2 --out "$out/rollouts.jsonl" "${T[@]}"
run rollouts-ex rollouts --checkpoint "$out/base/final" --data "$out/data/test/test.jsonl" --limit 6 --samples 1 --as-examples --out "$out/rollouts-ex.jsonl" "${T[@]}"
run logprobs logprobs --checkpoint "$out/base/final" --examples "$out/data/test/test.jsonl" --out "$out/logprobs.csv" "${T[@]}"

for s in explicit materialised structured automatic; do
  run "kernel-$s" kernel --checkpoint "$out/base/final" --examples "$out/data/test/test.jsonl" --limit 3 --strategy "$s" --out "$out/kernel/$s.safetensors" "${T[@]}"
done
run kernel-blocks kernel --checkpoint "$out/base/final" --examples "$out/data/test/test.jsonl" --limit 3 --blocks --out "$out/kernel/blocks.safetensors" "${T[@]}"
run kernel-shard1 kernel --checkpoint "$out/base/final" --examples "$out/data/test/test.jsonl" --limit 3 --blocks --shard 1/2 --out "$out/kernel/s1.safetensors" "${T[@]}"
run kernel-shard2 kernel --checkpoint "$out/base/final" --examples "$out/data/test/test.jsonl" --limit 3 --blocks --shard 2/2 --out "$out/kernel/s2.safetensors" "${T[@]}"
run kernel-merge kernel-merge "$out/kernel/s1.safetensors" "$out/kernel/s2.safetensors" --out "$out/kernel/merged.safetensors"
run drift drift --kernel "$out/kernel/blocks.safetensors" --kernel "$out/kernel/merged.safetensors" --out "$out/drift.csv"
id=$(head -1 "$out/data/test/test.jsonl" | sed 's/.*"id":"\([^"]*\)".*/\1/')
pos=$("$A" tokenize --checkpoint "$out/base/final" --examples "$out/data/test/test.jsonl" --out "$out/tokens.jsonl" > /dev/null &&
      head -1 "$out/tokens.jsonl" | sed 's/.*"image_positions":\([0-9]*\),"response_start":\([0-9]*\).*/\1 + \2/')
pos=$((pos))   # the first response token's sequence position
for s in explicit materialised structured; do
  run "entk-$s" entk --checkpoint "$out/base/final" --examples "$out/data/test/test.jsonl" --u "$id:$pos" --v "$id:$((pos + 1))" --strategy "$s" --out "$out/entk/$s.safetensors"
done
run jacobian jacobian --checkpoint "$out/base/final" --examples "$out/data/test/test.jsonl" --example "$id" --position "$pos" --out "$out/jacobian.safetensors"
run decompose decompose --checkpoint "$out/base/final" --examples "$out/data/test/test.jsonl" --u "$id:$pos" --v "$id:$((pos + 1))" --eta 1e-4,1e-3,1e-2 --out "$out/decompose.csv" "${T[@]}"
run influence influence --checkpoint "$out/base/final" --train "$out/data/jigp/train.jsonl" --probes "$out/data/test/test.jsonl" --measure --out "$out/influence.csv" "${T[@]}"
run symmetry symmetry --checkpoint "$out/base/final" --examples "$out/data/test/test.jsonl" --pairs 2 --eta-points 4 --out "$out/symmetry.csv" "${T[@]}"
run symmetry-seq symmetry --checkpoint "$out/base/final" --examples "$out/data/test/test.jsonl" --pairs 2 --eta-points 3 --level sequence --optimizers sgd --out "$out/symmetry-seq.csv" "${T[@]}"

# The run records without their timing lines, for a plain diff.
mkdir -p "$out/meta-stripped"
find "$out" -name '*.meta.json' -not -path "$out/meta-stripped/*" | while read -r f; do
  rel=${f#"$out"/}
  mkdir -p "$out/meta-stripped/$(dirname "$rel")"
  grep -v '"seconds"' "$f" > "$out/meta-stripped/$rel"
done
# stdout lines with timings (kernel, entk, jacobian print seconds and rates): drop the varying numbers.
for f in "$out"/stdout/kernel-*.txt "$out"/stdout/entk-*.txt "$out"/stdout/jacobian.txt; do
  sed -E -i 's/[0-9.]+ s\b/<s> s/g; s/\([0-9.]+ pairs\/s\)/(<rate>)/; s/, [0-9.]+ s$/, <s> s/' "$f"
done
echo "wrote $final"
