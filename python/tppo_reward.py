"""TPPO's per-token reward (paper eq. 4-5) from a token-classification model's logits,
for an existing RL engine's custom reward hook. numpy only.

    r_t = lwp(l_t) * (P_t(2) - P_t(1)),   lwp(l) = 1 / (1 + exp(alpha * (l - sl) - 6))

l_t is the 1-based position of token t among the response's tokens. The classes are
the lab's: 0 non-reward (separators, EOS), 1 irrelevant, 2 relevant, and P is the
softmax over the three. The KL term (-beta * (log pi - log pi_ref)) is NOT included:
the engine adds its own, as TRL, verl and OpenRLHF all do.

Shapes follow the engines' token-level reward tensors: responses right-padded to
[batch, response_length] (verl's `reward_tensor`, OpenRLHF's per-token rewards), with a
mask that is 1 on response tokens (EOS included) and 0 on padding. The result is
float32 [batch, response_length], 0 on padding.

Placements (`tppo ppo --placement`):
  word-spread  (the paper's): every token keeps its own reward;
  span-end     (Fine-Grained RLHF): a word's tokens' mean reward on its last token,
               0 on its other tokens; tokens outside words (word id -1) keep their own.

tests/python_reward.rs checks this file against the Rust rewards (src/rl/rewards.rs)
on the shipped token reward model's logits."""
import numpy as np


def lwp(l, alpha=1.0, sl=20.0):
    """Eq. 4, in float32 as the lab computes it."""
    l = np.asarray(l, dtype=np.float32)
    x = np.float32(alpha) * (l - np.float32(sl)) - np.float32(6.0)
    return (np.float32(1.0) / (np.float32(1.0) + np.exp(x))).astype(np.float32)


def margins(logits):
    """P(2) - P(1) per token from class logits [..., 3]."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    return (p[..., 2] - p[..., 1]).astype(np.float32)


def span_end(rewards, word_ids):
    """One response: a word's mean reward on its last token, 0 on its other tokens."""
    out = np.array(rewards, dtype=np.float32)
    n = len(out)
    i = 0
    while i < n:
        w = word_ids[i]
        if w < 0:
            i += 1
            continue
        j = i
        while j + 1 < n and word_ids[j + 1] == w:
            j += 1
        mean = np.float32(out[i:j + 1].astype(np.float32).sum(dtype=np.float32) / np.float32(j - i + 1))
        out[i:j] = 0.0
        out[j] = mean
        i = j + 1
    return out


def token_rewards(logits, response_mask, alpha=1.0, sl=20.0, placement="word-spread", word_ids=None):
    """[batch, T] TPPO token rewards (KL excluded) from logits [batch, T, 3].

    `word_ids` [batch, T] (int, -1 outside words) is needed for placement="span-end"."""
    mask = np.asarray(response_mask).astype(bool)
    if mask.ndim != 2 or np.asarray(logits).shape[:2] != mask.shape or np.asarray(logits).shape[2] != 3:
        raise ValueError(f"logits {np.asarray(logits).shape} and mask {mask.shape}: expected [B, T, 3] and [B, T]")
    pos = np.cumsum(mask, axis=1)                       # l: 1-based position among response tokens
    r = np.where(mask, lwp(pos, alpha, sl) * margins(logits), np.float32(0.0)).astype(np.float32)
    if placement == "word-spread":
        return r
    if placement != "span-end":
        raise ValueError(f"placement {placement!r}: word-spread or span-end")
    if word_ids is None:
        raise ValueError("placement span-end needs word_ids")
    out = np.zeros_like(r)
    for b in range(r.shape[0]):
        idx = np.nonzero(mask[b])[0]
        out[b, idx] = span_end(r[b, idx], np.asarray(word_ids)[b, idx])
    return out


def _parity(path):
    """Compare with the Rust rewards written by tests/python_reward.rs; exit status 1 on a difference."""
    import json
    import sys
    with open(path) as f:
        fx = json.load(f)
    worst = 0.0
    for placement, key in [("word-spread", "word_spread"), ("span-end", "span_end")]:
        got = token_rewards(np.array(fx["logits"], dtype=np.float32), np.array(fx["mask"]), fx["alpha"], fx["sl"],
                            placement, np.array(fx["word_ids"]))
        want = np.array(fx[key], dtype=np.float32)
        d = float(np.abs(got - want).max())
        worst = max(worst, d)
        print(f"{placement}: {got.shape} rewards, largest difference to Rust {d:.2e}")
    tol = fx["tolerance"]
    if worst > tol:
        print(f"FAIL: {worst:.2e} > {tol:.0e}")
        sys.exit(1)
    print(f"ok: within {tol:.0e}")


if __name__ == "__main__":
    import sys
    _parity(sys.argv[1])
