#!/usr/bin/env python3
"""Reads the TensorBoard event file of an `analyze train` run folder with the `tensorboard` package's own reader
and checks it against the run's CSVs.

    pip install tensorboard
    python3 scripts/crosscheck/tensorboard_events.py RUN_FOLDER [RUN_FOLDER ...]

For each folder: exactly one events.out.tfevents.* file; its first event is the file version "brain.Event:2";
every record's CRCs check (the reader raises DataLossError otherwise); and every number of metrics.csv, eval.csv and
probes.csv is a scalar at the row's step under the TRL-style tag the workbench promises (train/loss,
train/learning_rate, train/rewards/accuracy/mean, train/entropy, train/completions/clipped_ratio,
train/mean_token_accuracy, ..., eval/<task>/<style>/<column>, probes/<probe>/<column>),
equal to the CSV value rounded to float32. Exits 1 on the first folder with a mismatch.
"""
import csv
import glob
import math
import os
import struct
import sys

from tensorboard.backend.event_processing import event_file_loader

TRL = {
    "loss": "loss", "lr": "learning_rate", "grad_norm": "grad_norm", "epoch": "epoch",
    "reward_mean": "reward", "reward_std": "reward_std",
    "fmt_mean": "rewards/format/mean", "fmt_std": "rewards/format/std", "hit_mean": "rewards/hit/mean", "hit_std": "rewards/hit/std",
    "acc_mean": "rewards/accuracy/mean", "acc_std": "rewards/accuracy/std",
    "kl": "kl", "completion_length": "completion_length", "zero_std_fraction": "frac_reward_zero_std", "clip_fraction": "clip_ratio",
    "entropy": "entropy", "clipped_ratio": "completions/clipped_ratio", "token_accuracy": "mean_token_accuracy",
}


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def number(s):
    try:
        return float(s)
    except ValueError:
        return None


def expected(folder):
    """(tag, step) -> value from the CSVs, as the workbench maps them."""
    out = {}
    for name, section in (("metrics.csv", "train"), ("eval.csv", "eval"), ("probes.csv", "probes")):
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            continue
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                step = int(float(row["step"]))
                texts = [v for k, v in row.items() if k != "step" and v != "" and number(v) is None]
                prefix = "/".join([section] + texts)
                for k, v in row.items():
                    if k == "step" or v == "" or number(v) is None:
                        continue
                    tag = prefix + "/" + (TRL.get(k, k) if section == "train" else k)
                    out[(tag, step)] = f32(number(v))
    return out


def check(folder):
    files = glob.glob(os.path.join(folder, "events.out.tfevents.*"))
    if len(files) != 1:
        print(f"{folder}: expected one event file, found {files}")
        return False
    events = list(event_file_loader.EventFileLoader(files[0]).Load())
    if not events or events[0].file_version != "brain.Event:2":
        print(f"{folder}: the first event is not the file version: {events[:1]}")
        return False
    seen = {}
    for e in events[1:]:
        for v in e.summary.value:
            # The loader migrates simple_value into a scalar tensor; read either.
            value = v.simple_value if v.HasField("simple_value") else v.tensor.float_val[0]
            seen[(v.tag, e.step)] = value
    want = expected(folder)
    bad = 0
    for key, value in want.items():
        got = seen.get(key)
        same = got is not None and (got == value or (math.isnan(got) and math.isnan(value)))
        if not same:
            bad += 1
            if bad <= 10:
                print(f"{folder}: {key[0]} @ step {key[1]}: event file {got}, CSV {value}")
    extra = set(seen) - set(want)
    if extra:
        bad += len(extra)
        print(f"{folder}: {len(extra)} scalars not in the CSVs, e.g. {sorted(extra)[:3]}")
    tags = sorted({t for t, _ in want})
    print(f"{folder}: {len(events)} events, {len(want)} scalars under {len(tags)} tags "
          f"({', '.join(tags[:6])}{', ...' if len(tags) > 6 else ''}): {'OK' if bad == 0 else f'{bad} mismatches'}")
    return bad == 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ok = all([check(f) for f in sys.argv[1:]])
    sys.exit(0 if ok else 1)
