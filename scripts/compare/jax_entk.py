#!/usr/bin/env python3
"""Times the eNTK of MODEL.md in JAX (float64, CPU), for comparison with `analyze bench` on the same machine.

Uses the independent JAX model of scripts/crosscheck/reference.py. For one pair of token examples of a checkpoint
(positions as in `analyze entk`): the logit Jacobian by jit(jacrev) (the reverse-mode V cotangents, as
neural-tangents' "jacobian contraction" does), the V × V block J_v J_uᵀ, the whole pair from scratch, and an N × N
trace kernel over N prefixes of one example. Prints best-of-R wall times after a compiled warm-up.

    python3 scripts/compare/jax_entk.py --checkpoint CKPT --examples data/demo/examples.jsonl --u jigsaw-0:57 --v ground-0:48
"""
import argparse, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "crosscheck"))
import reference as ref  # noqa: E402
import jax, jax.numpy as jnp  # noqa: E402
from timing import best  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--examples", required=True)
    p.add_argument("--u", required=True)
    p.add_argument("--v", required=True)
    p.add_argument("--probes", type=int, default=16)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    ck = ref.Checkpoint(a.checkpoint)
    examples, base = ref.load_examples(a.examples)
    theta = jnp.asarray(ck.theta)

    def jac_fn(ex_id, pos):
        ids, patches, _ = ck.encode(examples[ex_id], base)
        f = jax.jit(jax.jacrev(lambda th: ck.logits(th, ids, patches)[pos - 1]))
        return f

    (uid, up), (vid, vp) = ref.id_pos(a.u), ref.id_pos(a.v)
    ju_fn, jv_fn = jac_fn(uid, up), jac_fn(vid, vp)
    t_j = best(lambda: ju_fn(theta).block_until_ready(), a.repeats)
    ju, jv = ju_fn(theta), jv_fn(theta)
    block = jax.jit(lambda x, y: x @ y.T)
    t_k = best(lambda: block(jv, ju).block_until_ready(), a.repeats)
    t_pair = best(lambda: block(jv_fn(theta), ju_fn(theta)).block_until_ready(), a.repeats)
    V, d = ju.shape
    print(f"jax {jax.__version__}, float64, {jax.device_count()} CPU device(s), V={V}, d={d}")
    print(f"logit Jacobian (jit jacrev)      {t_j * 1e3:9.2f} ms")
    print(f"eNTK block J_v J_uᵀ              {t_k * 1e3:9.2f} ms  ({2 * V * V * d / t_k / 1e9:.1f} GFLOP/s)")
    print(f"eNTK pair from scratch           {t_pair * 1e3:9.2f} ms")

    # N × N trace kernel: N prefixes of the u example, Jacobians then Θ = Σ_o J_i[o]·J_j[o].
    ids, patches, start = ck.encode(examples[uid], base)
    n_img = 0 if patches is None else len(patches)
    positions = [n_img + 1 + k * max(1, (len(ids) - 2) // a.probes) for k in range(a.probes)]
    positions = [q for q in positions if q < n_img + len(ids)]
    fns = [jax.jit(jax.jacrev(lambda th, q=q: ck.logits(th, ids[: q - n_img + 1], patches)[q - 1])) for q in positions]

    def trace_kernel():
        js = jnp.stack([f(theta) for f in fns]).reshape(len(fns), -1)
        return (js @ js.T).block_until_ready()

    t_tk = best(trace_kernel, max(1, a.repeats // 2))
    pairs = len(fns) * (len(fns) + 1) // 2
    print(f"N×N trace kernel, N={len(fns)}         {t_tk:9.2f} s  ({pairs / t_tk:.1f} pairs/s)")


if __name__ == "__main__":
    main()
