#!/usr/bin/env bash
# Installs the Debian packages the workbench links against, when any is missing (idempotent).
set -euo pipefail
packages=(pkg-config libopenblas-dev liblapacke-dev libgsl-dev libpng-dev libjpeg-dev gnuplot-nox libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
