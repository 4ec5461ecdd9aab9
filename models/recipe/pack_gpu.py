"""Pack the tokenized corpus (plus the code) compressed, to carry to a GPU machine without network.

Usage: /usr/bin/python3 models/recipe/pack_gpu.py [--out models/recipe/work/gpu-pack.tar.xz]
The archive holds models/recipe/*.py, work/tok/{train.bin,tokenizer.json,tokenizer_config.json,
stats.json} (--tok: work/tok2 for the second edition's corpus) and
work/corpus/heldout_projects.jsonl (for the held-out loss, eval and parity fixture).
It must stay under 50 MiB; the script fails otherwise.

On the GPU machine (CUDA PyTorch; the same scripts run on torch 1.13 or newer):
  mkdir -p repo/models && tar -xJf gpu-pack.tar.xz -C repo/models
  cd repo && python3 models/recipe/train.py --config gpu --out models/recipe/work/ckpt-gpu
  python3 models/recipe/export_default.py --ckpt models/recipe/work/ckpt-gpu/ckpt.pt
Nothing on the CPU path reads this archive.
"""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT = 50 * 1024 * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "work", "gpu-pack.tar.xz"))
    ap.add_argument("--tok", default=os.path.join(HERE, "work", "tok2"))
    args = ap.parse_args()
    base = os.path.dirname(HERE)  # models/
    rel = lambda p: os.path.relpath(p, base)  # noqa: E731
    members = sorted(glob.glob(os.path.join(HERE, "*.py")) + glob.glob(os.path.join(HERE, "*.tsv")))
    for f in ("train.bin", "tokenizer.json", "tokenizer_config.json", "stats.json"):
        members.append(os.path.join(args.tok, f))
    members.append(os.path.join(HERE, "work", "corpus", "heldout_projects.jsonl"))
    missing = [m for m in members if not os.path.exists(m)]
    if missing:
        sys.exit(f"missing: {missing} (run corpus.py and train_tokenizer.py first)")
    tmp = args.out + ".tmp"
    subprocess.run(["tar", "-cf", tmp, "-I", "xz -6 -T2", "-C", base] + [rel(m) for m in members], check=True)
    os.replace(tmp, args.out)
    size = os.path.getsize(args.out)
    print(f"{args.out}: {size / 2**20:.1f} MiB ({len(members)} files)")
    if size > LIMIT:
        sys.exit("archive is over 50 MiB")


if __name__ == "__main__":
    main()
