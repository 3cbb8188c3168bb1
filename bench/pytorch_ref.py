#!/usr/bin/env python3
"""PyTorch eager reference for `tppo bench --compare-pytorch` (issue 6).

The same workloads as src/bench.rs, written the way a PyTorch user would write
them, at the same sizes, on the CPU:

- the policy of src/model/policy.rs: token + learned position embeddings,
  pre-norm blocks (LayerNorm, fused QKV linear, causal self-attention over
  left-padded batches, output projection, GELU MLP), final LayerNorm, an LM head
  without bias and a value head on the same trunk;
- generation with and without a KV cache (temperature 1.0, batch of random
  prompts, `max_new` tokens, stop when every row has produced EOS);
- one token reward-model step (eq. 1-3: class-weighted CE on the probability-
  masked tokens, global MSE of the mean expected reward, w = 0.5) with Adam;
- one PPO iteration (src/rl/ppo.rs): rollout with the KV cache at temperature
  0.7, log-probs of the policy and the reference, values, the reward model's
  P(2) - P(1) per token, lwp token rewards (eq. 4-5) with the KL penalty, GAE
  (gamma 1, lambda 0.95), whitening; then 4 epochs x 2 minibatches of the clipped
  policy loss + 0.1 x clipped value loss, gradient-norm clipping at 1.0, Adam.

Models are freshly initialised and prompts are random ids, as in the Rust
bench, so neither side needs a checkpoint. `--parity CKPT.safetensors --seqs JSON
--tail N` instead loads a policy checkpoint written by TPPO Lab and prints the
logits and values of the last N positions of the left-padded sequences: the
ignored test tests/pytorch_parity.rs checks that this model computes what ours
computes (run it with TPPO_PYTHON=/path/to/python cargo test --release --test
pytorch_parity -- --ignored). Timings are the median (and min) of
`--reps` runs after one untimed warm-up. Prints one JSON object on stdout:
{"torch": version, "threads": n, "rows": [{"workload", "ms", "min_ms", "tokens_per_s"}]}.
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EOS, PAD = 2, 0


class Block(nn.Module):
    def __init__(self, d, h, d_ff):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, d_ff), nn.Linear(d_ff, d)

    def forward(self, x, bias, cache):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)))), (k, v)


class Trunk(nn.Module):
    def __init__(self, vocab, d, layers, h, d_ff, max_len):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(max_len, d)
        self.blocks = nn.ModuleList(Block(d, h, d_ff) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, tokens, keep, positions, cache=None):
        """cache: None, or {"layers": [(k, v)] | None, "keep": [B, T_past] | None}, updated in place."""
        b, t = tokens.shape
        past_keep = cache["keep"] if cache is not None else None
        keys_keep = keep if past_keep is None else torch.cat([past_keep, keep], 1)
        tk = keys_keep.shape[1]
        past = tk - t
        i = torch.arange(t).view(t, 1)
        j = torch.arange(tk).view(1, tk)
        causal = torch.where(j <= past + i, 0.0, -1e9).view(1, 1, t, tk)
        bias = causal + (keys_keep.view(b, 1, 1, tk) - 1.0) * 1e9
        x = self.tok(tokens) + self.pos(positions)
        layers = cache["layers"] if cache is not None and cache["layers"] else [None] * len(self.blocks)
        new = []
        for block, c in zip(self.blocks, layers):
            x, kv = block(x, bias, c)
            new.append(kv)
        if cache is not None:
            cache["layers"], cache["keep"] = new, keys_keep
        return self.ln_f(x)


class Policy(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.trunk = Trunk(**cfg)
        self.lm_head = nn.Linear(cfg["d"], cfg["vocab"], bias=False)
        self.value_head = nn.Linear(cfg["d"], 1)

    def forward_tail(self, tokens, keep, positions, n):
        x = self.trunk(tokens, keep, positions)[:, -n:]
        return self.lm_head(x), self.value_head(x).squeeze(2)


class RewardModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.trunk = Trunk(**cfg)
        self.head = nn.Linear(cfg["d"], 3)

    def logits_tail(self, tokens, keep, positions, n):
        return self.head(self.trunk(tokens, keep, positions)[:, -n:])


def left_pad(seqs):
    """Padded::left: tokens, keep and positions counting real tokens only."""
    t = max(len(s) for s in seqs)
    tokens = torch.full((len(seqs), t), PAD, dtype=torch.long)
    keep = torch.zeros(len(seqs), t)
    positions = torch.zeros(len(seqs), t, dtype=torch.long)
    for r, s in enumerate(seqs):
        if s:
            tokens[r, t - len(s):] = torch.tensor(s)
            keep[r, t - len(s):] = 1.0
            positions[r, t - len(s):] = torch.arange(len(s))
    return tokens, keep, positions


@torch.inference_mode()
def generate(policy, prompts, temperature, max_new, use_cache, scored=False):
    """Sampled tokens per prompt; with `scored`, also each token's log-probability and
    the value of the state it was sampled in (TRL takes rollout log-probs from the
    generation logits; TPPO Lab's Policy::generate_scored does the same)."""
    seqs = [list(p) for p in prompts]
    out = [[] for _ in prompts]
    lps = [[] for _ in prompts]
    vals = [[] for _ in prompts]
    done = [False] * len(prompts)
    lens = [len(p) for p in prompts]
    cache = None
    for step in range(max_new):
        if use_cache and step > 0:
            tokens = torch.tensor([[s[-1]] for s in seqs])
            positions = torch.tensor([[n - 1] for n in lens])
            x = policy.trunk(tokens, torch.ones(len(seqs), 1), positions, cache)
        else:
            cache = {"layers": None, "keep": None}
            x = policy.trunk(*left_pad(seqs), cache)
        logits = policy.lm_head(x[:, -1])
        nxt = torch.multinomial(torch.softmax(logits / temperature, -1), 1).squeeze(1)
        if scored:
            lp = torch.log_softmax(logits / temperature, -1).gather(1, nxt.unsqueeze(1)).squeeze(1).tolist()
            v = policy.value_head(x[:, -1]).squeeze(1).tolist()
        for i, tok in enumerate(nxt.tolist()):
            tok = PAD if done[i] else tok
            seqs[i].append(tok)
            lens[i] += 1
            if not done[i]:
                out[i].append(tok)
                if scored:
                    lps[i].append(lp[i])
                    vals[i].append(v[i])
                done[i] = tok == EOS
        if all(done):
            break
    return (out, lps, vals) if scored else out


def tail(prompts, responses):
    """The [prompt ; response] batch and the response tokens, right-aligned in r columns."""
    r = max(1, max(len(x) for x in responses))
    tokens = torch.full((len(responses), r), PAD, dtype=torch.long)
    mask = torch.zeros(len(responses), r)
    for i, x in enumerate(responses):
        if x:
            tokens[i, r - len(x):] = torch.tensor(x)
            mask[i, r - len(x):] = 1.0
    return left_pad([list(p) + list(x) for p, x in zip(prompts, responses)]), tokens, mask, r


def score_tokens(policy, batch, tokens, r, temperature):
    logits, values = policy.forward_tail(*batch, r + 1)
    logp = torch.log_softmax(logits[:, :r] / (temperature + 1e-7), 2)
    return logp, logp.gather(2, tokens.unsqueeze(2)).squeeze(2), values[:, :r]


def lwp(l, alpha=1.0, sl=20.0):
    return 1.0 / (1.0 + math.exp(alpha * (l - sl) - 6.0))


def gae(rewards, values, gamma=1.0, lam=0.95):
    adv, last = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        nxt = values[t + 1] if t + 1 < len(rewards) else 0.0
        last = rewards[t] + gamma * nxt - values[t] + gamma * lam * last
        adv[t] = last
    return adv, [a + v for a, v in zip(adv, values)]


def masked_mean(x, m):
    return (x * m).sum() / m.sum().clamp_min(1.0)


class Ppo:
    def __init__(self, cfg, batch, max_new):
        self.policy, self.reference, self.rm = Policy(cfg), Policy(cfg).eval(), RewardModel(cfg).eval()
        self.optim = torch.optim.Adam(self.policy.parameters(), lr=3e-5)
        self.max_new, self.temperature, self.kl_coef = max_new, 0.7, 0.05

    def rollout(self, prompts):
        responses, gen_lp, gen_values = generate(self.policy, prompts, self.temperature, self.max_new, True, True)
        batch, tokens, mask, r = tail(prompts, responses)
        with torch.inference_mode():
            _, ref_lp, _ = score_tokens(self.reference, batch, tokens, r, self.temperature)
            p = torch.softmax(self.rm.logits_tail(*batch, r), 2)
            margin = p[..., 2] - p[..., 1]
        ref_lp, margin = (x.tolist() for x in (ref_lp, margin))
        # Right-aligned in r columns, like the scored tensors.
        lp = [[0.0] * (r - len(x)) + x for x in gen_lp]
        values = [[0.0] * (r - len(x)) + x for x in gen_values]
        ro = {"prompts": prompts, "responses": responses, "lp": [], "values": [], "adv": [], "ret": []}
        for i, x in enumerate(responses):
            n = len(x)
            row = lambda v: v[i][r - n:]  # noqa: E731
            rewards = [-self.kl_coef * (a - b) + lwp(t + 1) * m
                       for t, (a, b, m) in enumerate(zip(row(lp), row(ref_lp), row(margin)))]
            adv, ret = gae(rewards, row(values))
            ro["lp"].append(row(lp))
            ro["values"].append(row(values))
            ro["adv"].append(adv)
            ro["ret"].append(ret)
        flat = [a for row in ro["adv"] for a in row]
        mean = sum(flat) / len(flat)
        scale = 1.0 / math.sqrt(sum((a - mean) ** 2 for a in flat) / (len(flat) - 1) + 1e-8)
        ro["adv"] = [[(a - mean) * scale for a in row] for row in ro["adv"]]
        return ro

    def update(self, ro, epochs=4, minibatches=2):
        n = len(ro["responses"])
        mb = -(-n // minibatches)
        for _ in range(epochs):
            order = torch.randperm(n).tolist()
            for s in range(0, n, mb):
                idx = order[s:s + mb]
                batch, tokens, mask, r = tail([ro["prompts"][i] for i in idx], [ro["responses"][i] for i in idx])

                def rows(key):
                    out = torch.zeros(len(idx), r)
                    for k, i in enumerate(idx):
                        v = ro[key][i]
                        if v:
                            out[k, r - len(v):] = torch.tensor(v)
                    return out

                old_lp, old_v, adv, ret = rows("lp"), rows("values"), rows("adv"), rows("ret")
                logp, new_lp, new_v = score_tokens(self.policy, batch, tokens, r, self.temperature)
                diff = (new_lp - old_lp) * mask
                ratio = diff.exp()
                a = adv * mask
                unclipped, clipped = -a * ratio, -a * ratio.clamp(0.8, 1.2)
                pg = masked_mean(torch.maximum(unclipped, clipped), mask)
                v_clip = old_v + (new_v - old_v).clamp(-0.2, 0.2)
                l1, l2 = (new_v - ret) ** 2, (v_clip - ret) ** 2
                vf = masked_mean(torch.maximum(l1, l2), mask) * 0.5
                with torch.no_grad():
                    lp_d = logp.detach()
                    stats = torch.stack([
                        pg, vf, masked_mean((clipped > unclipped).float(), mask),
                        masked_mean(diff ** 2, mask) * 0.5, masked_mean((l2 > l1).float(), mask),
                        masked_mean(-(lp_d.exp() * lp_d).sum(2), mask)]).tolist()
                if all(math.isfinite(x) for x in stats):
                    loss = pg + 0.1 * vf
                    self.optim.zero_grad(set_to_none=True)
                    loss.backward()
                    nn.utils.clip_grad_norm_(self.policy.parameters(), 1.0)
                    self.optim.step()


def rm_step_setup(cfg, prompts, gen):
    rm = RewardModel(cfg)
    optim = torch.optim.Adam(rm.parameters(), lr=5e-4)
    responses = [torch.randint(8, 4000, (20,), generator=gen).tolist() for _ in prompts]
    labels = torch.randint(0, 3, (len(prompts), 20), generator=gen)
    sentence = (1 + torch.randint(0, 2, (len(prompts),), generator=gen)).float()
    batch, _, _, _ = tail(prompts, responses)

    def probability_mask():
        # src/reward/loss.rs: keep label 2 : label 1 within [1:3, 3:1] by dropping the majority.
        keep = torch.ones_like(labels, dtype=torch.bool)
        for i in range(labels.shape[0]):
            ones = (labels[i] == 1).nonzero().flatten()
            twos = (labels[i] == 2).nonzero().flatten()
            major, minor = (twos, ones) if len(twos) > len(ones) else (ones, twos)
            if len(minor) > 0 and len(major) > 3 * len(minor):
                drop = major[torch.randperm(len(major), generator=gen)[3 * len(minor):]]
                keep[i, drop] = False
        return keep.float()

    def step():
        valid = probability_mask()
        logits = rm.logits_tail(*batch, 20)
        log_p = torch.log_softmax(logits, 2)
        local = -(log_p.gather(2, labels.unsqueeze(2)).squeeze(2) * valid).sum() / labels.shape[0]
        expected = (torch.softmax(logits, 2) * torch.tensor([0.0, 1.0, 2.0])).sum(2)
        mean = (expected * valid).sum(1) / valid.sum(1).clamp_min(1.0)
        loss = 0.5 * local + 0.5 * ((mean - sentence) ** 2).mean()
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        return loss.item()

    return step


def load_burn_policy(path):
    """A Policy from a TPPO Lab safetensors checkpoint (burn's names; Linear weights are [in, out])."""
    import struct
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    info = json.loads(header["__metadata__"]["tppo"])
    c = info["config"]
    cfg = dict(vocab=c["vocab"], d=c["d_model"], layers=c["n_layers"], h=c["n_heads"], d_ff=c["d_ff"], max_len=c["max_len"])
    policy = Policy(cfg)
    state = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {meta['dtype']}, expected F32")
        lo, hi = meta["data_offsets"]
        t = torch.frombuffer(bytearray(raw[8 + n + lo:8 + n + hi]), dtype=torch.float32).reshape(meta["shape"])
        key = name.replace(".gamma", ".weight").replace(".beta", ".bias")
        is_linear = key.endswith(".weight") and t.dim() == 2 and not key.startswith(("trunk.tok.", "trunk.pos."))
        state[key] = t.t().contiguous() if is_linear else t
    policy.load_state_dict(state, strict=True)
    return policy.eval()


@torch.inference_mode()
def parity(path, seqs, n):
    policy = load_burn_policy(path)
    logits, values = policy.forward_tail(*left_pad(seqs), n)
    print(json.dumps({"logits": logits.tolist(), "values": values.tolist()}))


def timed(fn, reps):
    fn()
    times, result = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), min(times), result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--max-new", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-ff", type=int, default=256)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--only", default="generate,rm,ppo", help="comma-separated: generate, rm, ppo")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--parity", metavar="CKPT", help="print the logits and values of a TPPO Lab policy checkpoint instead")
    ap.add_argument("--seqs", help="for --parity: token ids, a JSON list of lists")
    ap.add_argument("--tail", type=int, default=1, help="for --parity: the last N positions")
    a = ap.parse_args()
    if a.parity:
        return parity(a.parity, json.loads(a.seqs), a.tail)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    cfg = dict(vocab=a.vocab, d=a.d_model, layers=a.layers, h=a.heads, d_ff=a.d_ff, max_len=a.max_len)
    prompts = [torch.randint(8, a.vocab, (a.prompt_len,), generator=gen).tolist() for _ in range(a.batch)]
    rows = []

    def add(workload, ms, min_ms, tokens):
        rows.append({"workload": workload, "ms": ms, "min_ms": min_ms,
                     "tokens_per_s": None if tokens is None else tokens / (ms / 1000.0)})

    only = set(a.only.split(","))
    if "generate" in only:
        policy = Policy(cfg).eval()
        for cache, name in [(True, "generate, KV cache"), (False, "generate, no cache")]:
            ms, mn, out = timed(lambda: generate(policy, prompts, 1.0, a.max_new, cache), a.reps)
            add(name, ms, mn, sum(len(x) for x in out))

    if "rm" in only:
        step = rm_step_setup(cfg, prompts, gen)
        ms, mn, _ = timed(step, a.reps)
        add("reward-model step (token, eq. 3)", ms, mn, None)

    if "ppo" in only:
        ppo = Ppo(cfg, a.batch, a.max_new)

        def iteration():
            ro = ppo.rollout(prompts)
            ppo.update(ro)
            return sum(len(x) for x in ro["responses"])

        ms, mn, tokens = timed(iteration, a.reps)
        add("PPO iteration (rollout + 4×2 updates)", ms, mn, tokens)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
