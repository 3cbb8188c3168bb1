#!/usr/bin/env bash
# Regenerate the shipped checkpoints in data/models/ from the bundled data (issue 15's
# recipe): the SFT policy on 20,000 generated users (its first epoch kept, see below)
# → RLAIF labels on targets, repeated-query variants of them and
# the policy's own samples → the token and the (class-balanced) sentence reward
# models, and the w ablation (paper Fig. 11) into runs/. Deterministic per seed on the
# CPU backend; each training run computes on about one core, so independent runs go
# side by side.
cd "$(dirname "$0")/.."
source scripts/tools.sh
report_failures
step "build"
cargo build --release
tppo="$(target_dir)/release/tppo"
mkdir -p data/models runs

step "SFT users: 40,000 generated train users (the first 10,000 are data/train.jsonl.gz's)"
[ -f runs/sft-users.jsonl.gz ] || $tppo data synth --users 40000 --seed 1 --split train --out runs/sft-users.jsonl.gz

step "SFT: 20,000 users, 1 language-model epoch (the loss on every token: history and targets), then 1 SFT epoch (the loss on the targets), every epoch's weights kept"
# The checkpoint shipped (session 17): of the recipes tried, the one with the lowest
# validation loss among those that meet issue 29's starting-policy targets on the
# 500 validation users under the evaluation's decoding (distinct-query rate ≥ 0.95,
# judged relevant per query in [0.30, 0.75], gold ≥ 0.25): this run's first epoch
# (validation loss 5.308; its SFT epoch, 5.269, was judged relevant for 81 % of its
# queries). data/models/sft.metrics.json has every candidate's numbers.
if [ ! -f data/models/sft.safetensors ]; then
  $tppo sft --preset default --data runs/sft-users.jsonl.gz --eval data/val.jsonl --save-epochs --out runs/sft > runs/sft.log
  for x in safetensors json; do cp "runs/sft-epoch1.$x" "data/models/sft.$x"; done
fi

step "RLAIF labels: targets, targets with a repeated query, and 2 SFT samples per user"
$tppo label --data data/train.jsonl.gz --users 4000 --sft data/models/sft --samples 2 --repeats --out runs/labels-train.jsonl &
$tppo label --data data/eval.jsonl --users 500 --sft data/models/sft --samples 2 --repeats --out runs/labels-eval.jsonl
wait

step "reward models: token (eq. 3, w = 0.5) and sentence (class-balanced), 3 epochs, side by side"
rm_args=(--labels runs/labels-train.jsonl --eval-labels runs/labels-eval.jsonl --sft data/models/sft --preset default --epochs 3)
$tppo train-rm --level token --w 0.5 "${rm_args[@]}" --out data/models/rm-token > runs/rm-token.log &
$tppo train-rm --level sentence "${rm_args[@]}" --out data/models/rm-sentence > runs/rm-sentence.log
wait
cat runs/rm-token.log runs/rm-sentence.log

step "the w ablation on the labels of the first 2000 train users (6 runs, 2 at a time)"
grep -E '"user_id":"train-00[01][0-9]{3}"' runs/labels-train.jsonl > runs/labels-train-2000.jsonl
$tppo ablate-w --values 0,0.2,0.4,0.6,0.8,1.0 --labels runs/labels-train-2000.jsonl --eval-labels runs/labels-eval.jsonl \
  --sft data/models/sft --preset default --epochs 1 --eval-every 25 --out runs/ablate-w.json
