#!/usr/bin/env python3
"""Loads a checkpoint's tokenizer.json with Hugging Face `tokenizers` and checks that it encodes every text of the
world to the ids `analyze tokenize` writes.

    pip install tokenizers
    python3 scripts/crosscheck/tokenizer_hf.py --analyze .build/release/analyze [--work DIR] [--count N]
    python3 scripts/crosscheck/tokenizer_hf.py --analyze A --checkpoint CKPT --data FILE.jsonl [--data ...]

Without --checkpoint it makes one (`analyze init --preset small`); without --data it generates the world's texts
with `analyze data generate`: every task (the five prior tasks, jigsaw and jigsaw-format) in both prompt styles, for
the 2x2, 2x3 and 3x3 jigsaw grids, train and test splits. For every example it compares

  - tokenizers' ids of the prompt with `tokens[1:response_start]` of `analyze tokenize` (after `<bos>`),
  - tokenizers' ids of the response with `tokens[response_start:-1]` (before `<eos>`),
  - decode(ids) (special tokens kept) re-encoded with the ids, and decode's text with the workbench's rule
    (single spaces, none between digits),

then runs the pre-tokenizer alone on 20000 random strings over tags, digits, punctuation and kinds of whitespace
against a Python port of the workbench's splitting rule, and checks that an unknown word is an error on both sides (`analyze tokenize` exits non-zero naming the
word; tokenizers raises "Missing [UNK] token"). Prints one summary line; exits 1 on any mismatch.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

from tokenizers import Tokenizer


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return p


def workbench_decode(tokens):
    """Tokenizer.decode's rule on token strings: single spaces, none between two single-digit tokens."""
    out, prev_digit = "", False
    for t in tokens:
        digit = len(t) == 1 and t.isascii() and t.isdigit()
        if out and not (digit and prev_digit):
            out += " "
        out += t
        prev_digit = digit
    return out


WHITE_SPACE = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}
PUNCTUATION = set("[]{}(),:;?.!=+-/*'\"")


def workbench_pieces(text):
    """Tokenizer.pieces(of:) of Sources/Dynamics/Text/Tokenizer.swift, for texts without combining marks (Swift
    walks grapheme clusters, Python code points): whitespace (Unicode White_Space) separates; a tag <...> without
    whitespace, up to the first '>', is one piece; every ASCII digit and punctuation character is one piece; a
    maximal run of anything else is a word."""
    out, word, i = [], "", 0
    while i < len(text):
        ch = text[i]
        close = text.find(">", i) if ch == "<" else -1
        if ch in WHITE_SPACE:
            if word:
                out.append(word)
                word = ""
        elif close >= 0 and not any(c in WHITE_SPACE for c in text[i:close + 1]):
            if word:
                out.append(word)
                word = ""
            out.append(text[i:close + 1])
            i = close
        elif ch in "0123456789" or ch in PUNCTUATION:
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        else:
            word += ch
        i += 1
    if word:
        out.append(word)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analyze", required=True, help="the analyze binary")
    ap.add_argument("--checkpoint", help="a checkpoint directory (default: a new small one)")
    ap.add_argument("--data", action="append", default=[], help="examples JSONL (repeatable; default: generated)")
    ap.add_argument("--work", help="working folder (default: a temporary one)")
    ap.add_argument("--count", type=int, default=700, help="examples per generated set (default 700)")
    a = ap.parse_args()
    A = os.path.abspath(a.analyze)
    work = a.work or tempfile.mkdtemp(prefix="tokenizer-hf-")
    os.makedirs(work, exist_ok=True)

    ckpt = a.checkpoint
    if ckpt is None:
        ckpt = os.path.join(work, "ckpt")
        run([A, "init", "--preset", "small", "--seed", "0", "--out", ckpt, "--force"])
    data = list(a.data)
    if not data:
        for grid in ["2x2", "2x3", "3x3"]:
            for split in ["train", "test"]:
                folder = os.path.join(work, f"world-{grid}")
                run([A, "data", "generate", "--tasks", "all,jigsaw-format", "--grid", grid, "--split", split, "--style", "both",
                     "--count", str(a.count), "--seed", "0", "--out", folder, "--force"])
                data.append(os.path.join(folder, f"{split}.jsonl"))

    tok = Tokenizer.from_file(os.path.join(ckpt, "tokenizer.json"))
    mismatches, texts, tokens_compared = [], 0, 0

    def check(label, text, expected):
        nonlocal texts, tokens_compared
        texts += 1
        tokens_compared += len(expected)
        got = tok.encode(text, add_special_tokens=False).ids
        if got != expected:
            mismatches.append(f"{label}: tokenizers {got} != analyze {expected} for {text!r}")
            return
        decoded = tok.decode(got, skip_special_tokens=False)
        if decoded != workbench_decode([tok.id_to_token(i) for i in got]):
            mismatches.append(f"{label}: decode {decoded!r} differs from the workbench's rule")
        elif tok.encode(decoded, add_special_tokens=False).ids != got:
            mismatches.append(f"{label}: decode {decoded!r} does not re-encode to the same ids")

    for i, path in enumerate(data):
        out = os.path.join(work, f"tokens-{i}.jsonl")
        run([A, "tokenize", "--checkpoint", ckpt, "--examples", path, "--out", out, "--force"])
        examples = [json.loads(l) for l in open(path) if l.strip()]
        rows = [json.loads(l) for l in open(out) if l.strip()]
        if [e["id"] for e in examples] != [r["id"] for r in rows]:
            sys.exit(f"{out}: the example ids differ from {path}")
        for e, r in zip(examples, rows):
            t, s = r["tokens"], r["response_start"]
            if t[0] != tok.token_to_id("<bos>") or t[-1] != tok.token_to_id("<eos>"):
                mismatches.append(f"{e['id']}: analyze's tokens are not framed by <bos> … <eos>")
            check(f"{path}:{e['id']}:prompt", e["prompt"], t[1:s])
            check(f"{path}:{e['id']}:response", e["response"], t[s:-1])

    # The pre-tokenizer alone on random strings over the characters that matter, against the workbench's rule.
    rng = random.Random(0)
    alphabet = "ab<>< >0912[],.?'\"\t\n\xa0\u2003xyz"
    random_mismatches = 0
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 16)))
        got = [piece for piece, _ in tok.pre_tokenizer.pre_tokenize_str(text)]
        if got != workbench_pieces(text):
            random_mismatches += 1
            if random_mismatches <= 5:
                mismatches.append(f"pre-tokenizer on {text!r}: {got} != {workbench_pieces(text)}")

    # Unknown words: an error on both sides.
    unknown = {"id": "unknown-0", "prompt": "is there a purple circle ?", "response": "yes"}
    upath = os.path.join(work, "unknown.jsonl")
    with open(upath, "w") as f:
        f.write(json.dumps(unknown) + "\n")
    p = subprocess.run([A, "tokenize", "--checkpoint", ckpt, "--examples", upath, "--out", os.path.join(work, "unknown-tokens.jsonl"), "--force"],
                       capture_output=True, text=True)
    swift_rejects = p.returncode != 0 and "purple" in p.stderr
    try:
        tok.encode(unknown["prompt"])
        hf_rejects = False
    except Exception as error:  # tokenizers raises a plain Exception
        hf_rejects = "UNK" in str(error)
    if not (swift_rejects and hf_rejects):
        mismatches.append(f"unknown word: analyze rejects {swift_rejects}, tokenizers rejects {hf_rejects}")

    for m in mismatches[:20]:
        print(m, file=sys.stderr)
    verdict = "all equal" if not mismatches else f"{len(mismatches)} MISMATCHES"
    print(f"tokenizer_hf: {texts} texts ({tokens_compared} tokens) from {len(data)} files and 20000 random strings "
          f"through the pre-tokenizer ({random_mismatches} differ); {verdict}; unknown word rejected by both: {swift_rejects and hf_rejects}")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
