#!/usr/bin/env python3
"""Independent reference implementation of /work/shared/design/MODEL.md plus the interface decisions
(sequence framing, tokenizer, PNG images, output formats), used to check the Swift `analyze` outputs.

Written from the two specifications only (nothing taken from the Swift sources). Float64 throughout;
Jacobians come from JAX reverse-mode autodiff (jax_enable_x64), not from any hand-written backward.

Subcommands (every comparison prints its errors and exits 1 on a mismatch or an error above 1e-9):
  tokenize  --checkpoint C --examples E.jsonl --compare tokens.jsonl
  logprobs  --checkpoint C --examples E.jsonl --compare lp.csv
  jacobian  --checkpoint C --examples E.jsonl --example ID --position P --compare J.safetensors
  entk      --checkpoint C --examples E.jsonl --u ID:P --v ID:P --compare K.safetensors
  make-checkpoint --out DIR --seed N [--f32]      random small test checkpoint
  make-examples   --out DIR [--image-size 8]      examples.jsonl + RGB / RGBA / gray PNGs (all 5 filters)
  selftest  --checkpoint C --examples E.jsonl     normalisation, causality, autodiff vs finite differences
tokenize/logprobs/jacobian/entk also accept --out FILE to write their result in the Swift tool's format.
"""
import argparse, csv, json, math, os, struct, sys, zlib

import numpy as np
from safetensors.numpy import load_file, save_file

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:  # loading checkpoints and examples works without JAX (scripts/compare/peers.py); the model needs it
    jax = jnp = None

TOL = 1e-9            # relative tolerance of every comparison
ABS_OK = 1e-12        # log-prob differences below this are fine whatever their relative size
SPECIALS = ["<pad>", "<bos>", "<eos>", "<think>", "</think>", "<answer>", "</answer>"]
DIGITS = "0123456789"
PUNCT = "[]{}(),:;?.!=+-/*'\""
BLOCK_TENSORS = ["ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
                 "ln2.weight", "ln2.bias", "mlp.fc.weight", "mlp.fc.bias", "mlp.proj.weight", "mlp.proj.bias"]


def fail(msg):
    sys.exit(f"error: {msg}")


# ----------------------------------------------------------------------------------------------- PNG
def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)


def predictor(ftype, a, b, c):
    """a = left, b = up, c = up-left (all unfiltered bytes)."""
    return [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]


def read_png(path):
    """8-bit non-interlaced PNG, colour type 0/2/4/6 -> float64 [H, W, 3] = byte / 255 (alpha dropped, gray x3)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: not a PNG")
    pos, hdr, idat = 8, None, []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length                                         # length + type + body + CRC
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, ctype, _, _, interlace = hdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or interlace != 0 or channels is None:
        fail(f"{path}: only 8-bit non-interlaced gray/RGB/RGBA PNGs are supported")
    stride = width * channels
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != height * (stride + 1):
        fail(f"{path}: wrong amount of image data")
    out = np.zeros((height, stride), dtype=np.int64)
    prev = [0] * stride
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        if ftype > 4:
            fail(f"{path}: bad filter type {ftype}")
        cur = [0] * stride
        for i in range(stride):
            a = cur[i - channels] if i >= channels else 0
            c = prev[i - channels] if i >= channels else 0
            cur[i] = (line[i] + predictor(ftype, a, prev[i], c)) & 255
        out[y], prev = cur, cur
    img = out.reshape(height, width, channels).astype(np.float64) / 255.0
    return np.repeat(img[:, :, :1], 3, axis=2) if channels <= 2 else img[:, :, :3]


def write_png(path, pixels):
    """pixels uint8 [H, W, ch], ch in 1/3/4; row y uses filter type y % 5 so a decoder meets all five."""
    height, width, ch = pixels.shape
    stride, raw, prev = width * ch, bytearray(), [0] * (width * ch)
    for y in range(height):
        line, ftype = [int(v) for v in pixels[y].reshape(-1)], y % 5
        raw.append(ftype)
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            c = prev[i - ch] if i >= ch else 0
            raw.append((line[i] - predictor(ftype, a, prev[i], c)) & 255)
        prev = line

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, {1: 0, 3: 2, 4: 6}[ch], 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
                + chunk(b"IEND", b""))


# ----------------------------------------------------------------------------------------- tokenizer
def pre_tokenize(text):
    """interface.md: skip whitespace; '<' … next '>' is one tag; each digit and listed punctuation char alone;
    otherwise a maximal run of non-space characters that are none of the above is a word."""
    def tag_end(i):                      # index of the '>' closing a tag starting at i, or -1
        return text.find(">", i + 1) if text[i] == "<" else -1
    pieces, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif tag_end(i) >= 0:
            j = tag_end(i)
            pieces.append(text[i:j + 1])
            i = j + 1
        elif ch in DIGITS or ch in PUNCT:
            pieces.append(ch)
            i += 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in DIGITS and text[j] not in PUNCT \
                    and tag_end(j) < 0:
                j += 1
            pieces.append(text[i:j])
            i = j
    return pieces


class Tokenizer:
    def __init__(self, path):
        doc = json.load(open(path))
        if isinstance(doc.get("model"), dict):  # the Hugging Face `tokenizers` format (WordLevel) written since 2026-12
            model = doc["model"]
            if model.get("type") != "WordLevel":
                fail(f"{path}: model type {model.get('type')!r} is not WordLevel")
            vocab = model["vocab"]
            self.tokens = sorted(vocab, key=vocab.get)
            if [vocab[t] for t in self.tokens] != list(range(len(self.tokens))):
                fail(f"{path}: vocab ids are not 0..V-1")
        elif doc.get("format") == "dynamics-word-tokenizer" and doc.get("version") == 1:  # the earlier schema
            self.tokens = doc["tokens"]
        else:
            fail(f"{path}: neither a Hugging Face WordLevel tokenizer nor a dynamics-word-tokenizer v1 file")
        if self.tokens[:len(SPECIALS)] != SPECIALS:
            fail(f"{path}: the vocabulary must start with {SPECIALS}")
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        if len(self.ids) != len(self.tokens):
            fail(f"{path}: duplicate tokens")

    def encode(self, text):
        unknown = [p for p in pre_tokenize(text) if p not in self.ids]
        if unknown:
            fail(f"token {unknown[0]!r} is not in the vocabulary (text {text!r})")
        return [self.ids[p] for p in pre_tokenize(text)]


# ---------------------------------------------------------------------------------------- checkpoint
def param_shapes(c):
    """[(name, shape)] in MODEL.md's table order, which is also the order of the flat vector θ."""
    V, D, F, T, L = c["vocab_size"], c["d_model"], c["d_ff"], c["max_seq_len"], c["n_layers"]
    K = c["patch_size"] ** 2 * c["channels"]
    out = [("tok_emb.weight", (V, D)), ("patch_emb.weight", (D, K)), ("patch_emb.bias", (D,)), ("pos_emb.weight", (T, D))]
    for l in range(L):
        shapes = [(D,), (D,), (3 * D, D), (3 * D,), (D, D), (D,), (D,), (D,), (F, D), (F,), (D, F), (D,)]
        out += [(f"blocks.{l}.{n}", s) for n, s in zip(BLOCK_TENSORS, shapes)]
    return out + [("ln_f.weight", (D,)), ("ln_f.bias", (D,)), ("head.weight", (V, D))]


class Checkpoint:
    def __init__(self, folder):
        self.cfg = c = json.load(open(os.path.join(folder, "config.json")))
        self.tok = Tokenizer(os.path.join(folder, "tokenizer.json"))
        if c["vocab_size"] != len(self.tok.tokens):
            fail(f"vocab_size {c['vocab_size']} but the tokenizer has {len(self.tok.tokens)} tokens")
        if c["d_model"] % c["n_heads"] or c["image_size"] % c["patch_size"]:
            fail("d_model must be divisible by n_heads and image_size by patch_size")
        weights = load_file(os.path.join(folder, "model.safetensors"))
        self.shapes = param_shapes(c)
        flat = []
        for name, shape in self.shapes:
            if name not in weights:
                fail(f"tensor {name} missing")
            w = weights[name]
            if w.dtype not in (np.float64, np.float32) or tuple(w.shape) != shape:
                fail(f"tensor {name}: {w.dtype} {tuple(w.shape)}, expected F64/F32 {shape}")
            flat.append(w.astype(np.float64).reshape(-1))
        extra = set(weights) - {n for n, _ in self.shapes}
        if extra:
            print(f"warning: ignoring extra tensors {sorted(extra)}")
        self.theta = np.concatenate(flat)                          # θ [d]
        self.n_patches = (c["image_size"] // c["patch_size"]) ** 2   # N

    def patches(self, png_path):
        """[N, P·P·C], patch (gy, gx) row-major, inside a patch index ((py·P)+px)·C + c."""
        S, P, C = self.cfg["image_size"], self.cfg["patch_size"], self.cfg["channels"]
        img = read_png(png_path)                                   # [S, S, 3]
        if img.shape != (S, S, C):
            fail(f"{png_path}: image is {img.shape}, expected {(S, S, C)}")
        g = S // P
        return np.stack([img[gy * P:(gy + 1) * P, gx * P:(gx + 1) * P, :].reshape(-1)
                         for gy in range(g) for gx in range(g)])

    def encode(self, ex, base):
        """-> (text ids [n], patches [N, P·P·C] or None, response_start index into ids)."""
        t = self.tok
        ids = [t.ids["<bos>"]] + t.encode(ex["prompt"])
        start = len(ids)
        ids += t.encode(ex["response"]) + [t.ids["<eos>"]]
        patches = self.patches(os.path.join(base, ex["image"])) if ex.get("image") is not None else None
        n_img = 0 if patches is None else len(patches)
        if n_img + len(ids) > self.cfg["max_seq_len"]:
            fail(f"example {ex['id']}: sequence length {n_img + len(ids)} > max_seq_len {self.cfg['max_seq_len']}")
        return ids, patches, start

    def unflatten(self, theta):
        params, o = {}, 0
        for name, shape in self.shapes:
            k = math.prod(shape)
            params[name] = theta[o:o + k].reshape(shape)
            o += k
        return params

    def logits(self, theta, ids, patches):
        """θ [d] (jax or numpy), ids [n], patches [N, K] or None -> logits [T, V], T = N + n."""
        return self.logits_of_tensors(self.unflatten(theta), ids, patches)

    def logits_of_tensors(self, p, ids, patches):
        """The same with θ as its named tensors (`unflatten`), a pytree for tools that differentiate per tensor."""
        c = self.cfg
        D, H = c["d_model"], c["n_heads"]
        dh = D // H
        x = p["tok_emb.weight"][jnp.asarray(ids)]                                  # [n, D]
        if patches is not None:
            img = jnp.asarray(patches) @ p["patch_emb.weight"].T + p["patch_emb.bias"]  # [N, D]
            x = jnp.concatenate([img, x], axis=0)
        T = x.shape[0]
        x = x + p["pos_emb.weight"][:T]                                             # [T, D]
        causal = jnp.tril(jnp.ones((T, T), dtype=bool))                             # row i sees j ≤ i

        def layer_norm(v, w, b):                                                    # over the last axis (D)
            mu = jnp.mean(v, axis=-1, keepdims=True)
            var = jnp.mean((v - mu) ** 2, axis=-1, keepdims=True)                   # biased variance
            return (v - mu) / jnp.sqrt(var + 1e-5) * w + b

        for l in range(c["n_layers"]):
            b = lambda n: p[f"blocks.{l}.{n}"]
            y = layer_norm(x, b("ln1.weight"), b("ln1.bias"))                       # [T, D]
            qkv = y @ b("attn.qkv.weight").T + b("attn.qkv.bias")                   # [T, 3D] = [q | k | v]
            q, k, v = qkv[:, :D], qkv[:, D:2 * D], qkv[:, 2 * D:]
            heads = []
            for h in range(H):
                cols = slice(h * dh, (h + 1) * dh)
                s = q[:, cols] @ k[:, cols].T / math.sqrt(dh)                       # [T, T]
                s = jnp.where(causal, s, -jnp.inf)
                s = s - jax.lax.stop_gradient(jnp.max(s, axis=1, keepdims=True))
                e = jnp.exp(s)
                heads.append((e / jnp.sum(e, axis=1, keepdims=True)) @ v[:, cols])  # [T, dh]
            x = x + jnp.concatenate(heads, axis=1) @ b("attn.proj.weight").T + b("attn.proj.bias")
            u = layer_norm(x, b("ln2.weight"), b("ln2.bias")) @ b("mlp.fc.weight").T + b("mlp.fc.bias")  # [T, F]
            g = 0.5 * u * (1.0 + jnp.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * u ** 3)))
            x = x + g @ b("mlp.proj.weight").T + b("mlp.proj.bias")                # [T, D]
        return layer_norm(x, p["ln_f.weight"], p["ln_f.bias"]) @ p["head.weight"].T  # [T, V]

    def log_probs(self, ids, patches):
        z = np.asarray(self.logits(jnp.asarray(self.theta), ids, patches))        # [T, V]
        m = z.max(axis=1, keepdims=True)
        return z - (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))          # [T, V]

    def jacobian(self, ex, base, position):
        """J = d logits[position − 1] / dθ, [V, d]."""
        ids, patches, _ = self.encode(ex, base)
        n_img = 0 if patches is None else len(patches)
        lo, T = max(n_img, 1), n_img + len(ids)                  # the predicted position must hold a text token
        if not lo <= position < T:
            fail(f"example {ex['id']}: position {position} is not a predicted text position ({lo}…{T - 1})")
        f = lambda th: self.logits(th, ids, patches)[position - 1]                  # [V]
        return np.asarray(jax.jacrev(f)(jnp.asarray(self.theta)))


# ------------------------------------------------------------------------------------------ commands
def load_examples(path):
    examples = {}
    for line in open(path):
        if line.strip():
            ex = json.loads(line)
            if ex["id"] in examples:
                fail(f"duplicate example id {ex['id']}")
            examples[ex["id"]] = ex
    return examples, os.path.dirname(os.path.abspath(path))


def id_pos(s):
    ident, _, pos = s.rpartition(":")
    return ident, int(pos)


def compare_arrays(label, ours, theirs):
    """Max |A−B| / max |B| and ‖A−B‖_F / ‖B‖_F, B = the Swift file; True when both ≤ TOL."""
    if theirs.dtype != np.float64:
        print(f"{label}: the file holds {theirs.dtype}, interface.md says F64")
        return False
    if ours.shape != theirs.shape:
        print(f"{label}: shape {theirs.shape} in the file, expected {ours.shape}")
        return False
    if not np.all(np.isfinite(theirs)):
        print(f"{label}: the file holds non-finite values")
        return False
    diff = ours - theirs
    max_rel = np.abs(diff).max() / max(np.abs(theirs).max(), 1e-300)
    frob = np.linalg.norm(diff) / max(np.linalg.norm(theirs), 1e-300)
    print(f"{label} {ours.shape}: max|A-B|/max|B| = {max_rel:.3e}, ||A-B||_F/||B||_F = {frob:.3e}")
    return max_rel <= TOL and frob <= TOL


def cmd_tokenize(ck, examples, base, a):
    ours = []
    for ex in examples.values():
        ids, patches, start = ck.encode(ex, base)
        n = 0 if patches is None else len(patches)
        ours.append({"id": ex["id"], "tokens": ids, "image_positions": n, "response_start": start,
                     "sequence_length": n + len(ids)})
    if a.out:
        with open(a.out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in ours)
    if not a.compare:
        return True
    theirs = [json.loads(l) for l in open(a.compare) if l.strip()]
    bad = 0
    if [r["id"] for r in theirs] != [r["id"] for r in ours]:
        print(f"MISMATCH example ids/order: file {[r['id'] for r in theirs]} vs examples {[r['id'] for r in ours]}")
        bad += 1
    by_id = {r["id"]: r for r in ours}
    for r in theirs:
        mine = by_id.get(r["id"], {})
        for key in ("tokens", "image_positions", "response_start", "sequence_length"):
            if r.get(key) != mine.get(key):
                print(f"MISMATCH {r['id']} {key}: file {r.get(key)} reference {mine.get(key)}")
                bad += 1
    print(f"tokenize: {len(theirs)} examples compared, {bad} mismatches")
    return bad == 0


def cmd_logprobs(ck, examples, base, a):
    ours = {}                                                  # (id, position) -> (token, logprob)
    for ex in examples.values():
        ids, patches, start = ck.encode(ex, base)
        n = 0 if patches is None else len(patches)
        lp = ck.log_probs(ids, patches)                        # [T, V]
        for j in range(start, len(ids)):                       # response tokens and <eos>
            ours[(ex["id"], n + j)] = (ids[j], float(lp[n + j - 1, ids[j]]))
    if a.out:
        with open(a.out, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["example", "position", "token", "logprob"])
            w.writerows([e, p, t, f"{v:.17g}"] for (e, p), (t, v) in ours.items())
    if not a.compare:
        return True
    rows = list(csv.DictReader(open(a.compare, newline="")))
    theirs = {(r["example"], int(r["position"])): (int(r["token"]), float(r["logprob"])) for r in rows}
    bad = len(rows) - len(theirs)
    if bad:
        print(f"MISMATCH: {bad} duplicate rows")
    for key in sorted(set(ours) ^ set(theirs)):
        print(f"MISMATCH row {key}: {'missing from the file' if key in ours else 'not a response position'}")
        bad += 1
    worst_abs = worst_rel = 0.0
    for key in sorted(set(ours) & set(theirs)):
        (t1, v1), (t2, v2) = ours[key], theirs[key]
        if t1 != t2:
            print(f"MISMATCH {key}: token {t2} in the file, {t1} in the reference")
            bad += 1
        err = abs(v1 - v2)
        rel = err / max(abs(v1), abs(v2), 1e-300)
        worst_abs, worst_rel = max(worst_abs, err), max(worst_rel, rel)
        if not (err < ABS_OK or rel <= TOL):                   # also catches NaN
            print(f"MISMATCH {key}: log-prob {v2!r} in the file, {v1!r} in the reference (relative {rel:.3e})")
            bad += 1
    print(f"logprobs: {len(theirs)} rows, max relative error {worst_rel:.3e}, max abs error {worst_abs:.3e}, "
          f"{bad} mismatches")
    return bad == 0


def cmd_jacobian(ck, examples, base, a):
    J = ck.jacobian(examples[a.example], base, a.position)
    if a.out:
        save_file({"jacobian": J}, a.out)
    return compare_arrays("jacobian", J, load_file(a.compare)["jacobian"]) if a.compare else True


def cmd_entk(ck, examples, base, a):
    (uid, up), (vid, vp) = id_pos(a.u), id_pos(a.v)
    K = ck.jacobian(examples[vid], base, vp) @ ck.jacobian(examples[uid], base, up).T   # [V, V] = J(x_v) J(x_u)^T
    if a.out:
        save_file({"K": K}, a.out)
    return compare_arrays("K", K, load_file(a.compare)["K"]) if a.compare else True


TEST_WORDS = ["the", "a", "red", "blue", "green", "circle", "square", "is", "where", "how", "many", "are", "there",
              "i", "see", "and", "left", "right", "x", "y", "bbox", "order", "shapes", "circles", "of", "_", "é"]


def cmd_make_checkpoint(a):
    vocab = SPECIALS + list(DIGITS) + list(PUNCT) + TEST_WORDS
    c = {"vocab_size": len(vocab), "d_model": 16, "n_layers": 2, "n_heads": 2, "d_ff": 64, "max_seq_len": 48,
         "image_size": 8, "patch_size": 4, "channels": 3}
    rng = np.random.default_rng(a.seed)
    tensors = {}
    for name, shape in param_shapes(c):
        if name.endswith(("ln1.weight", "ln2.weight", "ln_f.weight")):
            t = 1.0 + 0.3 * rng.standard_normal(shape)           # gains away from 1
        elif len(shape) == 1:
            t = 0.3 * rng.standard_normal(shape)                 # biases away from 0
        elif name in ("tok_emb.weight", "pos_emb.weight"):
            t = 0.8 * rng.standard_normal(shape)
        else:
            t = 1.5 * rng.standard_normal(shape) / math.sqrt(shape[1])  # fan-in scaled, non-uniform attention
        tensors[name] = t.astype(np.float32 if a.f32 else np.float64)
    os.makedirs(a.out, exist_ok=True)
    json.dump(c, open(os.path.join(a.out, "config.json"), "w"), indent=2)
    json.dump({"format": "dynamics-word-tokenizer", "version": 1, "tokens": vocab},
              open(os.path.join(a.out, "tokenizer.json"), "w"), indent=2, ensure_ascii=False)
    save_file(tensors, os.path.join(a.out, "model.safetensors"), metadata={"format_version": "1"})
    print(f"wrote {a.out}: V={len(vocab)}, d={sum(math.prod(s) for _, s in param_shapes(c))} parameters")
    return True


def cmd_make_examples(a):
    S, rng = a.image_size, np.random.default_rng(7)
    os.makedirs(os.path.join(a.out, "images"), exist_ok=True)
    for name, ch in [("rgb", 3), ("rgba", 4), ("gray", 1)]:
        px = rng.integers(0, 256, size=(S, S, ch), dtype=np.int64)
        px[0, 0], px[-1, -1] = 0, 255                             # the extremes
        write_png(os.path.join(a.out, "images", f"{name}.png"), px.astype(np.uint8))
    examples = [
        {"id": "rgb-0", "prompt": "where is the red circle ?", "response": "<answer> { bbox : [ 3 , 4 , 11 , 2 ] } </answer>", "image": "images/rgb.png"},
        {"id": "rgba-0", "prompt": "order the shapes", "response": "<think> i see a blue square and a red circle </think> <answer> [ 0 , 1 ] </answer>", "image": "images/rgba.png"},
        {"id": "gray-0", "prompt": "how many circles are there?", "response": "<answer>12</answer>", "image": "images/gray.png"},
        {"id": "text-0", "prompt": "x=3*4-2/1; y+(x)!", "response": "<answer>'a' \"x\"</answer>", "image": None},
        {"id": "text-1", "prompt": "  is\tthe\nsquare _ é?", "response": "", "image": None},
    ]
    with open(os.path.join(a.out, "examples.jsonl"), "w") as f:
        f.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in examples)
    print(f"wrote {a.out}/examples.jsonl ({len(examples)} examples) and images/{{rgb,rgba,gray}}.png ({S}x{S})")
    return True


def cmd_selftest(ck, examples, base, a):
    ok = True
    theta = jnp.asarray(ck.theta)
    for ex in examples.values():
        ids, patches, start = ck.encode(ex, base)
        lp = ck.log_probs(ids, patches)                                          # [T, V]
        norm = np.abs(np.exp(lp).sum(axis=1) - 1).max()
        full = np.asarray(ck.logits(theta, ids, patches))
        cut = len(ids) // 2                                                      # drop the second half of the text
        part = np.asarray(ck.logits(theta, ids[:cut], patches))
        causal = np.abs(full[:len(part)] - part).max() / np.abs(full).max()
        print(f"{ex['id']}: {[ck.tok.tokens[i] for i in ids]} T={len(full)} |sum p - 1| = {norm:.1e}, "
              f"prefix-vs-full logits {causal:.1e}")
        ok &= norm < 1e-13 and causal < 1e-13 and (lp <= 0).all()
    # autodiff vs central differences, one random coordinate in every tensor, on the first image example
    ex = next(e for e in examples.values() if e.get("image") is not None)
    ids, patches, start = ck.encode(ex, base)
    pos = (len(patches) if patches is not None else 0) + start + 1
    J, rng, o, worst, h = ck.jacobian(ex, base, pos), np.random.default_rng(0), 0, 0.0, 1e-5
    for name, shape in ck.shapes:                # a coordinate the logits depend on, when the tensor has one
        used = np.flatnonzero(np.abs(J[:, o:o + math.prod(shape)]).max(axis=0) > 0)
        k = o + int(rng.choice(used) if len(used) else rng.integers(math.prod(shape)))
        o += math.prod(shape)
        tp, tm = ck.theta.copy(), ck.theta.copy()
        tp[k] += h
        tm[k] -= h
        fd = (np.asarray(ck.logits(jnp.asarray(tp), ids, patches))[pos - 1]
              - np.asarray(ck.logits(jnp.asarray(tm), ids, patches))[pos - 1]) / (2 * h)
        err = np.abs(fd - J[:, k]).max() / max(np.abs(J[:, k]).max(), 1e-3)
        worst = max(worst, err)
        print(f"  d logits[{pos - 1}] / d {name}[{k - o + math.prod(shape)}]: |J col| = {np.abs(J[:, k]).max():.3e}, "
              f"finite-difference rel. error {err:.1e}")
    print(f"Jacobian {J.shape}: worst finite-difference error {worst:.1e}")
    ok &= worst < 1e-7
    print("selftest", "passed" if ok else "FAILED")
    return ok


def main():
    if jax is None:
        sys.exit("reference.py needs JAX: pip install jax jaxlib")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ["tokenize", "logprobs", "jacobian", "entk", "selftest"]:
        s = sub.add_parser(name)
        s.add_argument("--checkpoint", required=True)
        s.add_argument("--examples", required=True)
        if name != "selftest":
            s.add_argument("--compare", help="the Swift tool's output to check")
            s.add_argument("--out", help="also write the reference result in the same format")
        if name == "jacobian":
            s.add_argument("--example", required=True)
            s.add_argument("--position", type=int, required=True)
        if name == "entk":
            s.add_argument("--u", required=True, help="ID:POSITION")
            s.add_argument("--v", required=True, help="ID:POSITION")
    s = sub.add_parser("make-checkpoint")
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--f32", action="store_true", help="store the weights as F32")
    s = sub.add_parser("make-examples")
    s.add_argument("--out", required=True)
    s.add_argument("--image-size", type=int, default=8)
    a = ap.parse_args()
    if a.command == "make-checkpoint":
        ok = cmd_make_checkpoint(a)
    elif a.command == "make-examples":
        ok = cmd_make_examples(a)
    else:
        ck = Checkpoint(a.checkpoint)
        examples, base = load_examples(a.examples)
        for key in [getattr(a, "example", None)] + [id_pos(s)[0] for s in (getattr(a, "u", None), getattr(a, "v", None)) if s]:
            if key is not None and key not in examples:
                fail(f"no example with id {key!r}")
        try:
            ok = {"tokenize": cmd_tokenize, "logprobs": cmd_logprobs, "jacobian": cmd_jacobian, "entk": cmd_entk,
                  "selftest": cmd_selftest}[a.command](ck, examples, base, a)
        except (OSError, KeyError) as e:
            fail(f"{type(e).__name__}: {e}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
