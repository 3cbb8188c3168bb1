#!/usr/bin/env bash
# Regenerate the shipped checkpoints in data/models/ from the bundled data:
# SFT policy → RLAIF labels on its samples → token and sentence reward models,
# and the w ablation (paper Fig. 11) into runs/. Deterministic per seed on the CPU
# backend. Each training run computes on one core, so independent runs go side by side.
cd "$(dirname "$0")/.."
source scripts/tools.sh
report_failures
step "build"
cargo build --release
tppo="$(target_dir)/release/tppo"
mkdir -p data/models runs
# 2 LM warm-up epochs over the histories, then 2 SFT epochs (the default preset).
[ -f data/models/sft.safetensors ] || $tppo sft --preset default --out data/models/sft
$tppo label --data data/train.jsonl.gz --users 4000 --sft data/models/sft --samples 2 --out runs/labels-train.jsonl &
$tppo label --data data/eval.jsonl --users 500 --sft data/models/sft --samples 2 --out runs/labels-eval.jsonl
wait
rm_args=(--labels runs/labels-train.jsonl --eval-labels runs/labels-eval.jsonl --sft data/models/sft --preset default --epochs 1)
$tppo train-rm --level token --w 0.5 "${rm_args[@]}" --out data/models/rm-token > runs/rm-token.log &
$tppo train-rm --level sentence "${rm_args[@]}" --out data/models/rm-sentence > runs/rm-sentence.log
wait
cat runs/rm-token.log runs/rm-sentence.log
# The ablation on the labels of the first 2000 train users (6 runs, 2 at a time).
grep -E '"user_id":"train-00[01][0-9]{3}"' runs/labels-train.jsonl > runs/labels-train-2000.jsonl
$tppo ablate-w --values 0,0.2,0.4,0.6,0.8,1.0 --labels runs/labels-train-2000.jsonl --eval-labels runs/labels-eval.jsonl \
  --sft data/models/sft --preset default --epochs 1 --eval-every 25 --out runs/ablate-w.json
