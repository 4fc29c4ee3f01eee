#!/usr/bin/env python3
"""Times the workbench's eNTK against torch.func and JAX on the same checkpoint, examples and token examples, and
prints them side by side (float64, CPU, the same thread count for everyone).

Work compared (each peer's time is the best of --repeats after a compiled/warm-up run; ours are the times the
commands print, from a cold process — the best of --repeats processes — `jacobian` and `kernel` without loading, `entk`
with loading and plan):
  - the logit Jacobian J = ∂z/∂θ of one token example (`analyze jacobian`; peers: jacrev),
  - one V × V eNTK block K(x_v, x_u) from scratch, both Jacobians included (`analyze entk`),
  - the N × N trace kernel Θ_ij = tr K(x_i, x_j) over the `--select answer` tokens of the first N examples
    (`analyze kernel`; peers: jacrev per probe, then one Gram product of the stacked Jacobians).
Peers' results are checked against ours (max relative difference printed). neural-tangents (on JAX) times the V × V
block only, with each of its three implementations (jacobian contraction, NTK-vector products, structured
derivatives), and reports the fastest: its kernel functions take one input array per example, so the variable-length
probes of the trace kernel would have to be padded, which is not the same work.

The models of the peers are written from MODEL.md (scripts/crosscheck/reference.py for JAX; the torch one below
mirrors it), not from the Swift sources. The workbench itself never needs Python. To install the peers:

    python3 -m venv /work/venv-cmp
    /work/venv-cmp/bin/pip install "torch==2.13.0+cpu" numpy safetensors jax jaxlib   # any float64-capable torch/jax
    /work/venv-cmp/bin/pip install "jax==0.4.23" "jaxlib==0.4.23" "numpy<2" neural-tangents==0.6.5   # for neural-tangents

    /work/venv-cmp/bin/python scripts/compare/peers.py --analyze .build/release/analyze --checkpoint CKPT \\
        --examples data/generated/prior/test.jsonl --u ID:POS --v ID:POS --limit 32 --threads 2

A peer that is not installed is skipped.
"""
import argparse, json, os, re, subprocess, sys, tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "crosscheck"))
import reference as ref  # noqa: E402  (loading and tokenizing need only numpy; its model needs JAX)
from safetensors import safe_open  # noqa: E402
from timing import best  # noqa: E402


def read_safetensors(path):
    """The tensors (float64 arrays) and the metadata of a safetensors file, by the `safetensors` package."""
    with safe_open(path, framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, (f.metadata() or {})


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def ours(a, tmp):
    """Runs the workbench's commands; returns their printed times and results."""
    def run(args):
        p = subprocess.run([a.analyze] + args, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"analyze {' '.join(args)} failed:\n{p.stderr}")
        return p.stdout
    def timed(args, pattern):
        # Like the peers' best of --repeats, but every repetition is a new (cold) process.
        return min(float(re.search(pattern, run(args).strip()).group(1)) for _ in range(a.repeats))
    common = ["--checkpoint", a.checkpoint, "--examples", a.examples]
    uid, upos = ref.id_pos(a.u)
    t_j = timed(["jacobian"] + common + ["--example", uid, "--position", str(upos), "--out", f"{tmp}/J.safetensors", "--force"],
                r"([0-9.]+) s\s*$")
    t_k = timed(["entk"] + common + ["--u", a.u, "--v", a.v, "--out", f"{tmp}/K.safetensors", "--force"], r"([0-9.]+) s with loading")
    t_n = timed(["kernel"] + common + ["--select", "answer", "--limit", str(a.limit), "--threads", str(a.threads),
                                       "--out", f"{tmp}/kernel.safetensors", "--force"], r"in ([0-9.]+) s")
    J = read_safetensors(f"{tmp}/J.safetensors")[0]["jacobian"]
    K = read_safetensors(f"{tmp}/K.safetensors")[0]["K"]
    kernel, meta = read_safetensors(f"{tmp}/kernel.safetensors")
    probes = [ref.id_pos(p) for p in json.loads(meta["probes"])]
    return {"jacobian": (t_j, J), "block": (t_k, K), "kernel": (t_n, kernel["trace_kernel"])}, probes


def torch_peer(ck, examples, base, a, probes):
    import torch
    from torch.func import jacrev
    torch.set_num_threads(a.threads)
    c = ck.cfg
    D, H = c["d_model"], c["n_heads"]
    dh = D // H
    # The parameters as separate tensors (differentiating through slices of one flat θ would scatter every
    # tensor's cotangent into a d-long vector); a Jacobian is then concatenated in θ order.
    params, o = {}, 0
    for name, shape in ck.shapes:
        k = int(np.prod(shape)); params[name] = torch.tensor(ck.theta[o:o + k].reshape(shape)); o += k

    def logits(p, ids, patches):
        x = p["tok_emb.weight"][torch.tensor(ids)]
        if patches is not None:
            x = torch.cat([torch.tensor(patches) @ p["patch_emb.weight"].T + p["patch_emb.bias"], x], 0)
        T = x.shape[0]
        x = x + p["pos_emb.weight"][:T]
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool))

        def ln(v, w, b):
            mu = v.mean(-1, keepdim=True)
            return (v - mu) / torch.sqrt(((v - mu) ** 2).mean(-1, keepdim=True) + 1e-5) * w + b
        for l in range(c["n_layers"]):
            b = lambda n: p[f"blocks.{l}.{n}"]
            qkv = ln(x, b("ln1.weight"), b("ln1.bias")) @ b("attn.qkv.weight").T + b("attn.qkv.bias")
            q, k, v = (qkv[:, i * D:(i + 1) * D].reshape(T, H, dh).transpose(0, 1) for i in range(3))  # [H, T, dh]
            s = torch.where(causal, q @ k.transpose(1, 2) / dh ** 0.5, -torch.inf)                  # [H, T, T]
            e = torch.exp(s - s.max(2, keepdim=True).values.detach())
            heads = (e / e.sum(2, keepdim=True) @ v).transpose(0, 1).reshape(T, D)                  # heads concatenated
            x = x + heads @ b("attn.proj.weight").T + b("attn.proj.bias")
            u = ln(x, b("ln2.weight"), b("ln2.bias")) @ b("mlp.fc.weight").T + b("mlp.fc.bias")
            g = 0.5 * u * (1.0 + torch.tanh((2.0 / np.pi) ** 0.5 * (u + 0.044715 * u ** 3)))
            x = x + g @ b("mlp.proj.weight").T + b("mlp.proj.bias")
        return ln(x, p["ln_f.weight"], p["ln_f.bias"]) @ p["head.weight"].T

    def jac(ident, pos):
        ids, patches, _ = ck.encode(examples[ident], base)
        f = jacrev(lambda p: logits(p, ids, patches)[pos - 1])
        def run():
            js = f(params)
            return torch.cat([js[name].reshape(js[name].shape[0], -1) for name, _ in ck.shapes], 1)
        return run

    ju, jv = jac(*ref.id_pos(a.u)), jac(*ref.id_pos(a.v))
    t_j = best(ju, a.repeats)
    t_k = best(lambda: jv() @ ju().T, a.repeats)
    fns = [jac(i, p) for i, p in probes]

    def trace_kernel():
        js = torch.stack([f() for f in fns]).reshape(len(fns), -1)
        return js @ js.T
    t_n = best(trace_kernel, max(1, a.repeats // 2))
    return {"jacobian": (t_j, ju().numpy()), "block": (t_k, (jv() @ ju().T).numpy()), "kernel": (t_n, trace_kernel().numpy())}, \
        f"torch.func {torch.__version__}"


def jax_peer(ck, examples, base, a, probes):
    import jax, jax.numpy as jnp
    theta = jnp.asarray(ck.theta)

    def jac(ident, pos):
        ids, patches, _ = ck.encode(examples[ident], base)
        f = jax.jit(jax.jacrev(lambda th: ck.logits(th, ids, patches)[pos - 1]))
        return lambda: f(theta).block_until_ready()

    ju, jv = jac(*ref.id_pos(a.u)), jac(*ref.id_pos(a.v))
    block = jax.jit(lambda x, y: x @ y.T)
    t_j = best(ju, a.repeats)
    t_k = best(lambda: block(jv(), ju()).block_until_ready(), a.repeats)
    fns = [jac(i, p) for i, p in probes]

    def trace_kernel():
        js = jnp.stack([f() for f in fns]).reshape(len(fns), -1)
        return (js @ js.T).block_until_ready()
    t_n = best(trace_kernel, max(1, a.repeats // 2))
    return {"jacobian": (t_j, np.asarray(ju())), "block": (t_k, np.asarray(block(jv(), ju()))),
            "kernel": (t_n, np.asarray(trace_kernel()))}, f"JAX {jax.__version__} jit(jacrev)"


def nt_peer(ck, examples, base, a, probes):
    import jax, jax.numpy as jnp
    import neural_tangents as nt
    # θ as its named tensors: a pytree of arrays, as neural-tangents expects parameters (its structured
    # derivatives find each dense weight's product; slices of one flat θ would hide them).
    theta = {k: jnp.asarray(v) for k, v in ck.unflatten(ck.theta).items()}
    c = ck.cfg
    n_img = (c["image_size"] // c["patch_size"]) ** 2
    K = c["patch_size"] ** 2 * c["channels"]

    def packed(ident, pos):
        """One example's causal prefix as the single array neural-tangents passes: its patches, then its token ids."""
        ids, patches, _ = ck.encode(examples[ident], base)
        if patches is None or len(patches) != n_img:
            sys.exit("neural-tangents peer: --u and --v must be examples with an image")
        return jnp.concatenate([jnp.asarray(patches).reshape(-1), jnp.asarray(ids[:pos - n_img], dtype=jnp.float64)])[None]

    def f(th, x):
        return ck.logits_of_tensors(th, x[0, n_img * K:].astype(jnp.int32), x[0, :n_img * K].reshape(n_img, K))[-1][None]

    xu, xv = packed(*ref.id_pos(a.u)), packed(*ref.id_pos(a.v))
    best_time, best_impl, block = None, None, None
    for impl in (nt.NtkImplementation.JACOBIAN_CONTRACTION, nt.NtkImplementation.NTK_VECTOR_PRODUCTS,
                 nt.NtkImplementation.STRUCTURED_DERIVATIVES):
        ntk = jax.jit(nt.empirical_ntk_fn(f, trace_axes=(), vmap_axes=None, implementation=impl))
        try:
            t = best(lambda: ntk(xv, xu, theta).block_until_ready(), a.repeats)
        except Exception as e:  # noqa: BLE001  (an implementation that cannot run this model is reported and skipped)
            print(f"neural-tangents implementation {int(impl)}: {str(e).splitlines()[0]}; skipped", file=sys.stderr)
            continue
        print(f"neural-tangents implementation {int(impl)}: V×V block {t * 1e3:.2f} ms", file=sys.stderr)
        if best_time is None or t < best_time:
            k = ntk(xv, xu, theta)   # θ a dict: the NTK is the sum of the per-tensor blocks
            best_time, best_impl, block = t, int(impl), np.asarray(sum(k.values()) if isinstance(k, dict) else k)[0, 0]
    return {"block": (best_time, block)}, f"neural-tangents {nt.__version__} impl. {best_impl}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--analyze", default=".build/release/analyze")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--examples", required=True)
    p.add_argument("--u", required=True)
    p.add_argument("--v", required=True)
    p.add_argument("--limit", type=int, default=32, help="N: probes of the trace kernel (first N examples)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--peers", default="torch,jax,neural-tangents", help="comma-separated peers to time")
    a = p.parse_args()
    # Thread counts for the peers' BLAS and XLA, set before they load.
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + f" --xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={a.threads}"
    ck = ref.Checkpoint(a.checkpoint)
    examples, base = ref.load_examples(a.examples)
    with tempfile.TemporaryDirectory() as tmp:
        mine, probes = ours(a, tmp)
    rows = [("logit Jacobian", "jacobian", "ms", 1e3), ("V×V block from scratch", "block", "ms", 1e3),
            (f"N = {len(probes)} trace kernel", "kernel", "s", 1)]
    peers = []
    for name, fn in [("torch", torch_peer), ("jax", jax_peer), ("neural-tangents", nt_peer)]:
        if name not in a.peers.split(","):
            continue
        try:
            peers.append(fn(ck, examples, base, a, probes))
        except ImportError as e:
            print(f"{name}: not installed ({e}); skipped", file=sys.stderr)
    print(f"{a.threads} thread(s), float64; ours: analyze, best of {a.repeats} cold processes; peers: best of {a.repeats} after a warm-up")
    head = f"{'work':24} {'workbench':>12}" + "".join(f" {label:>28} {'ratio':>7} {'max rel diff':>12}" for _, label in peers)
    print(head)
    for title, key, unit, scale in rows:
        t, value = mine[key]
        line = f"{title:24} {t * scale:9.2f} {unit:2}"
        for results, _ in peers:
            if key not in results:
                line += f" {'—':>28} {'':>7} {'':>12}"
                continue
            pt, pv = results[key]
            line += f" {pt * scale:25.2f} {unit:2} {pt / t:6.2f}× {rel(pv, value):12.1e}"
        print(line)
    print("ratio = peer's time / workbench's time (> 1: the workbench is faster)")


if __name__ == "__main__":
    main()
