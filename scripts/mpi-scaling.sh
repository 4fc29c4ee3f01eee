#!/usr/bin/env bash
# Measured scaling of the MPI paths on this machine: ranks × threads → eNTK probe-kernel pairs/s and training
# steps/s (SFT, small preset), plus the data-parallel step's traffic. Prints a Markdown table; nothing is kept.
#   scripts/mpi-scaling.sh [CONFIGS]     CONFIGS: "RANKSxTHREADS ..." (default "1x1 1x2 2x1 np1x2")
# "np1xT" is one rank under mpirun (MPI initialised, nothing to exchange): the cost of the launcher itself.
# Ranks with more than one thread run with --bind-to none (Open MPI otherwise binds each rank to a single core).
set -euo pipefail
A=${ANALYZE:-.build/release/analyze}
configs=${1:-"1x1 1x2 2x1 np1x2"}
probes=${PROBES:-32}
steps=${STEPS:-30}
batch=${BATCH:-32}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$A" init --preset small --out "$dir/ckpt" > /dev/null
"$A" data generate --tasks prior --split test --count "$probes" --out "$dir/probes" > /dev/null 2>&1
"$A" data generate --tasks prior,jigsaw-format --split train --count $((steps * batch)) --out "$dir/train" > /dev/null 2>&1
now() { date +%s.%N; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| ranks × threads | kernel pairs/s ($probes probes, $((probes * (probes + 1) / 2)) pairs) | kernel wall s | SFT steps/s (batch $batch, $steps steps) | SFT wall s |"
echo "|---|---|---|---|---|"
for c in $configs; do
  launcher=()
  case $c in
    np1x*) ranks=1; threads=${c#np1x}; launcher=(mpirun --oversubscribe -np 1) ;;
    *) ranks=${c%x*}; threads=${c#*x}; [ "$ranks" -gt 1 ] && launcher=(mpirun --oversubscribe -np "$ranks") ;;
  esac
  # Open MPI binds each rank to one core by default (for up to 2 ranks): a rank with several threads needs more.
  if [ ${#launcher[@]} -gt 0 ] && [ "$threads" -gt 1 ]; then launcher+=(--bind-to none); fi
  t0=$(now)
  # The rates are the commands' own (computation only: kernel's summary line, training's last progress line); the
  # wall times add process and launcher start-up.
  kernel_rate=$("${launcher[@]}" "$A" kernel --checkpoint "$dir/ckpt" --examples "$dir/probes/test.jsonl" --threads "$threads" \
    --out "$dir/k-$c.safetensors" 2> /dev/null | sed -n 's/.*(\([0-9.]*\) pairs\/s).*/\1/p')
  t1=$(now)
  sft_rate=$("${launcher[@]}" "$A" train sft --checkpoint "$dir/ckpt" --data "$dir/train/train.jsonl" --steps "$steps" --batch-size "$batch" \
    --lr 1e-3 --threads "$threads" --out "$dir/sft-$c" 2>&1 > /dev/null | tr '\r' '\n' | grep -o '[0-9.]* steps/s' | tail -1 | cut -d' ' -f1)
  t2=$(now)
  cmp -s "$dir/k-1x1.safetensors" "$dir/k-$c.safetensors" || echo "warning: kernel bytes differ for $c" >&2
  cmp -s "$dir/sft-1x1/final/model.safetensors" "$dir/sft-$c/final/model.safetensors" || echo "warning: SFT bytes differ for $c" >&2
  awk -v c="$c" -v k="$kernel_rate" -v r="$sft_rate" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
    'BEGIN { printf "| %s | %s | %.1f | %s | %.1f |\n", c, k, t1 - t0, r, t2 - t1 }'
done
params=$(grep -o '"parameters" *: *[0-9]*' "$dir/ckpt/meta.json" | grep -o '[0-9]*$' || true)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo
echo "Data-parallel traffic per SFT step: every rank receives the other ranks' per-example gradients, $batch × (P + 3) doubles in all"
echo "(P = the model's parameter count${params:+, $params here}): $(awk -v b="$batch" -v p="${params:-223168}" 'BEGIN { printf "%.1f MB", b * (p + 3) * 8 / 1e6 }') per step."
