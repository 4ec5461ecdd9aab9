"""Pack the tokenized corpus to carry to a GPU machine that has no network.

Usage: /usr/bin/python3 models/recipe/pack_gpu.py [--tok models/recipe/work/tok2]
       [--out models/recipe/work/gpu-pack] [--first-mib 27]

Writes train.bin compressed with xz (-9e: about 0.28 of its size, ~38 MiB for the 70 M-token
corpus) and split into 1-MiB parts, plus the tokenizer, the held-out documents and SHA256SUMS
of the whole archive. The lent machine's transfer limit (64 MiB with the tracked tree, about
35 MiB of it) is below the archive's size, so the parts go into two folders: OUT/a holds the
first --first-mib MiB, OUT/b the rest and the small files. One call carries OUT/a and only
copies it to /tmp/gpu-pack; the next call, on the same warm machine, carries OUT/b and runs
models/recipe/gpu_train.sh (section 4c of the README). Nothing on the CPU path reads the pack.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PART = 1 << 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "work", "gpu-pack"))
    ap.add_argument("--tok", default=os.path.join(HERE, "work", "tok2"))
    ap.add_argument("--first-mib", type=int, default=27, help="MiB of parts in OUT/a (the first transfer)")
    args = ap.parse_args()
    small = [os.path.join(args.tok, f) for f in ("tokenizer.json", "tokenizer_config.json", "stats.json")]
    small.append(os.path.join(HERE, "work", "corpus", "heldout_projects.jsonl"))
    train = os.path.join(args.tok, "train.bin")
    missing = [m for m in small + [train] if not os.path.exists(m)]
    if missing:
        sys.exit(f"missing: {missing} (run corpus.py and train_tokenizer.py first)")
    shutil.rmtree(args.out, ignore_errors=True)
    first, rest = os.path.join(args.out, "a"), os.path.join(args.out, "b")
    os.makedirs(first)
    os.makedirs(rest)
    archive = os.path.join(args.out, "train.bin.xz")
    with open(archive, "wb") as f:
        subprocess.run(["xz", "-9e", "-c", train], stdout=f, check=True)
    digest = hashlib.sha256(open(archive, "rb").read()).hexdigest()
    with open(archive, "rb") as f:
        i = 0
        while chunk := f.read(PART):
            folder = first if i < args.first_mib else rest
            with open(os.path.join(folder, f"train.bin.xz.part{i:03d}"), "wb") as p:
                p.write(chunk)
            i += 1
    os.remove(archive)
    with open(os.path.join(rest, "SHA256SUMS"), "w") as f:
        f.write(f"{digest}  train.bin.xz\n")
    for m in small:
        shutil.copy(m, rest)
    for folder in (first, rest):
        size = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
        print(f"{folder}: {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
