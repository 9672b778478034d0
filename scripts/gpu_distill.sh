#!/usr/bin/env bash
# Distil the Dr.GRPO teacher into depth-pruned students on one CUDA GPU, several runs side by side, each stopped by
# a time budget (resumable). This is how training/artifacts/student-* were made (README, "Training").
#
# Needs on the GPU machine: python3 with torch, transformers, peft, numpy, tqdm, matplotlib (+ the `gguf` package
# for the conversion), this repository, the SmolLM2 GGUF and the training users' histories:
#   here:  interests train export-histories --out .gpu/histories.json.gz
#   there: GGUF=/path/SmolLM2-135M-Instruct.Q4_1.gguf HISTORIES=.gpu/histories.json.gz OUT=/tmp/out \
#          BUDGET_S=400 bash scripts/gpu_distill.sh
# Writes, per run, OUT/<run>.tar: the adapter (weights cast to bfloat16 to halve the size; the registry merges them
# into the bfloat16 base), its manifest and model card, the run log (JSON lines), the curves and the console log.
set -uo pipefail
: "${GGUF:?the SmolLM2 GGUF file}" "${HISTORIES:?the histories file of interests train export-histories}"
: "${OUT:?a folder for the results}"
BUDGET_S=${BUDGET_S:-400}          # seconds of training per run (all runs side by side)
TEACHER=${TEACHER:-models/artifacts/grpo-v1}
RUNS=${RUNS:-"on-policy:12 sft:12 on-policy:8 on-policy:16 on-policy:20"}   # mode:layers
RANK=${RANK:-32}
DEVICE=${DEVICE:-cuda}             # cpu: a dry run of this script on a machine without a GPU
USERS=${USERS:-16}; SAMPLES=${SAMPLES:-4}   # prompts per step, student samples per prompt
export INTERESTS_CACHE=${INTERESTS_CACHE:-/tmp/interests-cache} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$INTERESTS_CACHE/runs"
PY=${PYTHON:-python3}
if [ "$DEVICE" != cpu ]; then
  $PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.__version__, torch.cuda.get_device_name())" || exit 1
fi
$PY -m interests_cli model convert --gguf "$GGUF" > "$OUT/convert.log" 2>&1 || { tail -20 "$OUT/convert.log"; exit 1; }
pids=()
for run in $RUNS; do
  mode=${run%%:*}; layers=${run##*:}; name=student-$mode-L$layers
  $PY -m interests_cli train distill --histories "$HISTORIES" --teacher "$TEACHER" --mode "$mode" \
    --layers "$layers" --device "$DEVICE" --steps 100000 --time-budget "$BUDGET_S" --lora-rank "$RANK" \
    --users-per-step "$USERS" --samples-per-user "$SAMPLES" --checkpoint-every 1000 --threads 2 --restart \
    --out "$INTERESTS_CACHE/runs/$name" > "$INTERESTS_CACHE/runs/$name.console.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
for run in $RUNS; do
  mode=${run%%:*}; layers=${run##*:}; name=student-$mode-L$layers; dir=$INTERESTS_CACHE/runs/$name
  mkdir -p "$dir/ship"
  $PY - "$dir" <<'PY' || true
import shutil, sys
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file
run = Path(sys.argv[1]); ship = run / "ship"
adapter = run / "adapter"
tensors = load_file(adapter / "adapter_model.safetensors")
save_file({k: v.to(torch.bfloat16).contiguous() for k, v in tensors.items()}, ship / "adapter_model.safetensors")
for name in ("adapter_config.json", "manifest.json", "README.md"):
    shutil.copyfile(adapter / name, ship / name)
for name in ("log.jsonl", "config.json", "curves.png"):
    if (run / name).exists():
        shutil.copyfile(run / name, ship / name)
PY
  cp "$dir.console.log" "$dir/ship/console.log" 2>/dev/null
  tar -cf "$OUT/$name.tar" -C "$dir/ship" .
  echo "$name: $(wc -l < "$dir/log.jsonl" 2>/dev/null) steps; last: $(tail -1 "$dir/log.jsonl" 2>/dev/null | cut -c1-200)"
done
