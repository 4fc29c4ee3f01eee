"""An outside check of the workbench: MODEL.md re-implemented in JAX (float64), compared with `analyze` outputs.

The forward pass is written from MODEL.md alone; Jacobians come from JAX's autodiff, not from the workbench's
hand-written backward. Needs: pip install numpy safetensors jax jaxlib.

  python3 scripts/crosscheck/reference.py logprobs --checkpoint C --examples E.jsonl --compare lp.csv
  python3 scripts/crosscheck/reference.py tokenize --checkpoint C --examples E.jsonl --compare tokens.jsonl
  python3 scripts/crosscheck/reference.py jacobian --checkpoint C --examples E.jsonl --example ID --position P --compare J.safetensors
  python3 scripts/crosscheck/reference.py entk --checkpoint C --examples E.jsonl --u ID:P --v ID:P --compare K.safetensors
Each prints the largest relative error and exits 1 above 1e-9.
"""
import argparse, csv, json, os, struct, sys, zlib

import jax
import jax.numpy as jnp
import numpy as np
from safetensors.numpy import load_file

jax.config.update("jax_enable_x64", True)
PUNCT = set("[]{}(),:;?.!=+-/*'\"")
TOLERANCE = 1e-9


def read_png(path):
    """8-bit non-interlaced PNG (grey, RGB, RGBA) -> float64 [H, W, 3] in [0, 1]."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
        if kind == b"IDAT": idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and interlace == 0 and ctype in (0, 2, 6), path
    ch = {0: 1, 2: 3, 6: 4}[ctype]
    raw, stride, out, prev = zlib.decompress(idat), w * ch, [], bytearray(w * ch)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b, c = prev[i], prev[i - ch] if i >= ch else 0
            p = a + b - c
            pred = [0, a, b, (a + b) // 2, a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (b if abs(p - b) <= abs(p - c) else c)][f]
            line[i] = (line[i] + pred) & 255
        out.append(line); prev = line
    img = np.array(out, dtype=np.float64).reshape(h, w, ch) / 255.0
    return np.repeat(img, 3, axis=2) if ch == 1 else img[:, :, :3]


def pieces(text):
    out, word, i = [], "", 0
    while i < len(text):
        c = text[i]
        close = text.find(">", i) if c == "<" else -1
        if c.isspace():
            if word: out.append(word); word = ""
        elif c == "<" and close >= 0 and not any(x.isspace() for x in text[i:close + 1]):
            if word: out.append(word); word = ""
            out.append(text[i:close + 1]); i = close
        elif c in "0123456789" or c in PUNCT:
            if word: out.append(word); word = ""
            out.append(c)
        else:
            word += c
        i += 1
    if word: out.append(word)
    return out


class Model:
    def __init__(self, ckpt):
        self.cfg = json.load(open(os.path.join(ckpt, "config.json")))
        vocab = json.load(open(os.path.join(ckpt, "tokenizer.json")))["tokens"]
        self.ids = {t: i for i, t in enumerate(vocab)}
        w = load_file(os.path.join(ckpt, "model.safetensors"))
        c = self.cfg
        names = ["tok_emb.weight", "patch_emb.weight", "patch_emb.bias", "pos_emb.weight"]
        for l in range(c["n_layers"]):
            names += [f"blocks.{l}.{n}" for n in ["ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
                                                   "attn.proj.bias", "ln2.weight", "ln2.bias", "mlp.fc.weight", "mlp.fc.bias",
                                                   "mlp.proj.weight", "mlp.proj.bias"]]
        names += ["ln_f.weight", "ln_f.bias", "head.weight"]
        self.names, self.shapes = names, [w[n].shape for n in names]
        self.theta = jnp.concatenate([jnp.asarray(w[n], dtype=jnp.float64).ravel() for n in names])

    def unflatten(self, theta):
        out, o = {}, 0
        for n, s in zip(self.names, self.shapes):
            k = int(np.prod(s)); out[n] = theta[o:o + k].reshape(s); o += k
        return out

    def encode(self, ex, base):
        toks = [self.ids["<bos>"]] + [self.ids[p] for p in pieces(ex["prompt"])]
        start = len(toks)
        toks += [self.ids[p] for p in pieces(ex["response"])] + [self.ids["<eos>"]]
        patches = None
        if ex.get("image"):
            c = self.cfg; S, P = c["image_size"], c["patch_size"]
            img = read_png(os.path.join(base, ex["image"]))
            g = S // P
            patches = img.reshape(g, P, g, P, 3).transpose(0, 2, 1, 3, 4).reshape(g * g, P * P * 3)
        return toks, patches, start

    def logits(self, theta, toks, patches):
        c, p = self.cfg, self.unflatten(theta)
        D, H = c["d_model"], c["n_heads"]
        x = p["tok_emb.weight"][jnp.array(toks)]
        if patches is not None:
            x = jnp.concatenate([jnp.asarray(patches) @ p["patch_emb.weight"].T + p["patch_emb.bias"], x])
        T = x.shape[0]
        x = x + p["pos_emb.weight"][:T]
        ln = lambda v, w, b: (v - v.mean(-1, keepdims=True)) / jnp.sqrt(v.var(-1, keepdims=True) + 1e-5) * w + b
        mask = jnp.tril(jnp.ones((T, T), dtype=bool))
        for l in range(c["n_layers"]):
            q = lambda n: p[f"blocks.{l}.{n}"]
            y = ln(x, q("ln1.weight"), q("ln1.bias")) @ q("attn.qkv.weight").T + q("attn.qkv.bias")
            qs, ks, vs = [y[:, i * D:(i + 1) * D].reshape(T, H, D // H).transpose(1, 0, 2) for i in range(3)]
            s = jnp.where(mask, qs @ ks.transpose(0, 2, 1) / jnp.sqrt(D // H), -jnp.inf)
            a = (jax.nn.softmax(s, axis=-1) @ vs).transpose(1, 0, 2).reshape(T, D)
            x = x + a @ q("attn.proj.weight").T + q("attn.proj.bias")
            u = ln(x, q("ln2.weight"), q("ln2.bias")) @ q("mlp.fc.weight").T + q("mlp.fc.bias")
            g = 0.5 * u * (1 + jnp.tanh(jnp.sqrt(2 / jnp.pi) * (u + 0.044715 * u ** 3)))
            x = x + g @ q("mlp.proj.weight").T + q("mlp.proj.bias")
        return ln(x, p["ln_f.weight"], p["ln_f.bias"]) @ p["head.weight"].T

    def jacobian(self, ex, base, position):
        toks, patches, _ = self.encode(ex, base)
        n = 0 if patches is None else len(patches)
        prefix = toks[:position - n]  # positions 0 … position − 1
        return np.asarray(jax.jacrev(lambda th: self.logits(th, prefix, patches)[position - 1])(self.theta))


def load_examples(path):
    return {e["id"]: e for e in map(json.loads, filter(str.strip, open(path)))}, os.path.dirname(os.path.abspath(path))


def read_tensor(path, name):
    return load_file(path)[name]


def report(label, ours, theirs):
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    rel = np.linalg.norm(ours - theirs) / max(np.linalg.norm(ours), 1e-300)
    worst = np.max(np.abs(ours - theirs)) / max(np.max(np.abs(ours)), 1e-300)
    print(f"{label}: relative error (Frobenius) {rel:.3e}, max |diff| / max |entry| {worst:.3e}, {ours.size} values")
    return rel <= TOLERANCE and worst <= TOLERANCE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["tokenize", "logprobs", "jacobian", "entk"])
    ap.add_argument("--checkpoint", required=True); ap.add_argument("--examples", required=True)
    ap.add_argument("--compare", required=True); ap.add_argument("--example"); ap.add_argument("--position", type=int)
    ap.add_argument("--u"); ap.add_argument("--v")
    a = ap.parse_args()
    model, (examples, base) = Model(a.checkpoint), load_examples(a.examples)
    ok = True
    if a.command == "tokenize":
        for line in filter(str.strip, open(a.compare)):
            theirs = json.loads(line)
            toks, patches, start = model.encode(examples[theirs["id"]], base)
            n = 0 if patches is None else len(patches)
            same = toks == theirs["tokens"] and start == theirs["response_start"] and n == theirs["image_positions"]
            ok &= same
            print(f"{theirs['id']}: {'same' if same else 'DIFFERENT'}")
    elif a.command == "logprobs":
        rows = list(csv.DictReader(open(a.compare)))
        ours, theirs = [], []
        for eid in dict.fromkeys(r["example"] for r in rows):
            toks, patches, start = model.encode(examples[eid], base)
            n = 0 if patches is None else len(patches)
            lp = np.asarray(jax.nn.log_softmax(model.logits(model.theta, toks, patches), axis=-1))
            for r in (r for r in rows if r["example"] == eid):
                p = int(r["position"])
                assert int(r["token"]) == toks[p - n], (eid, p)
                ours.append(lp[p - 1, toks[p - n]]); theirs.append(float(r["logprob"]))
        ok = report("log-probs", ours, theirs)
    elif a.command == "jacobian":
        ok = report("Jacobian", model.jacobian(examples[a.example], base, a.position), read_tensor(a.compare, "jacobian"))
    else:
        (uid, up), (vid, vp) = [(s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])) for s in (a.u, a.v)]
        k = model.jacobian(examples[vid], base, vp) @ model.jacobian(examples[uid], base, up).T
        ok = report("eNTK block", k, read_tensor(a.compare, "K"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
