#!/usr/bin/env bash
# Runs on a lent GPU machine (no network; its python3 holds CUDA PyTorch, onnx, numpy, regex),
# from the repository root: continue the shipped model there for MINUTES minutes and write the
# trained weights, split into parts small enough to come back, to OUT_DIR.
#
#   bash models/recipe/gpu_train.sh MINUTES OUT_DIR [PACK_DIR...]
#
# PACK_DIRs hold what pack_gpu.py wrote (train.bin.xz.part*, the tokenizer, the held-out
# documents, SHA256SUMS); parts may arrive in several folders when one transfer cannot carry
# them all. The parts are copied to /tmp/gpu-pack first, so an earlier call on the same warm
# machine can leave some of them there (see section 4c of models/recipe/README.md).
# TRAIN_EXTRA_ARGS go to train.py: "--device cpu --batch 2" makes a dry run on any machine.
set -euo pipefail
export PYTHONUNBUFFERED=1
minutes=${1:?minutes}
out=${2:?output folder}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
stage=/tmp/gpu-pack
python=${PYTHON:-python3}  # the lent machine's python3 holds CUDA PyTorch; here, PYTHON=/usr/bin/python3
mkdir -p "$stage" "$out"
for dir in "$@"; do cp -f "$dir"/* "$stage"/; done
tok="$here/work/tok2"
mkdir -p "$tok" "$here/work/corpus"
(cd "$stage" && cat train.bin.xz.part* > train.bin.xz && sha256sum -c SHA256SUMS)
xz -dc -T0 "$stage/train.bin.xz" > "$tok/train.bin"
cp "$stage/tokenizer.json" "$stage/tokenizer_config.json" "$stage/stats.json" "$tok/"
cp "$stage/heldout_projects.jsonl" "$here/work/corpus/"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$out/gpu.txt" || true
"$python" -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())' >> "$out/gpu.txt"
cat "$out/gpu.txt"

ckpt="$here/work/ckpt-gpu-long"
rm -rf "$ckpt"
status=0
decay=$(awk "BEGIN { print $minutes * 0.4 }")  # WSD: the LR decays over the last 40% of the run
"$python" "$here/train.py" --config gpu-long --minutes "$minutes" --decay-min "$decay" --ckpt-min 1 --out "$ckpt" \
    --slim "$ckpt/weights.pt" ${TRAIN_EXTRA_ARGS:-} || status=$?
cp "$ckpt/train.log" "$out/train.log" 2>/dev/null || true
if [ -f "$ckpt/weights.pt" ]; then
    # at most 16 MiB a file comes back: split, and let the receiver check the whole
    (cd "$ckpt" && sha256sum weights.pt > "$out/weights.sha256" && split -b 15M -d weights.pt "$out/weights.pt.part")
fi
exit $status
