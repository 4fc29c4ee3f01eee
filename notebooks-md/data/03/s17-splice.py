# Where does GRPO's forgetting live? Splice parameter groups between the base and the GRPO checkpoint.
import sys, os, shutil
import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file
base, trained, out = sys.argv[1:4]
def load(p):
    with safe_open(p + '/model.safetensors', 'numpy') as f: return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
B, meta = load(base); G, _ = load(trained)
groups = {
  'pos': ['pos_emb.weight'], 'patch': ['patch_emb.weight', 'patch_emb.bias'], 'tok': ['tok_emb.weight'],
  'attn0': [k for k in B if k.startswith('blocks.0.attn') or k.startswith('blocks.0.ln1')],
  'mlp0': [k for k in B if k.startswith('blocks.0.mlp') or k.startswith('blocks.0.ln2')],
  'attn1': [k for k in B if k.startswith('blocks.1.attn') or k.startswith('blocks.1.ln1')],
  'mlp1': [k for k in B if k.startswith('blocks.1.mlp') or k.startswith('blocks.1.ln2')],
  'head': ['head.weight', 'ln_f.weight', 'ln_f.bias'],
}
groups['emb'] = groups['pos'] + groups['patch'] + groups['tok']
groups['block0'] = groups['attn0'] + groups['mlp0']
groups['block1'] = groups['attn1'] + groups['mlp1']
for name, keys in groups.items():
    for direction, src, dst in (('restore', G, B), ('transplant', B, G)):
        # restore: GRPO with `name` set back to the base; transplant: the base with GRPO's `name`
        t = {k: (dst[k] if k in keys else src[k]) for k in B}
        d = f'{out}/{direction}-{name}'
        os.makedirs(d, exist_ok=True)
        for f in ('config.json', 'tokenizer.json', 'meta.json'): shutil.copy(f'{trained}/{f}', d)
        save_file(t, d + '/model.safetensors', metadata=meta)
    print(name, sum(float(np.abs(G[k] - B[k]).sum()) for k in keys) / sum(float(np.abs(B[k]).sum()) for k in keys))
