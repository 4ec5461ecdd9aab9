"""Recipe comparisons: short from-scratch runs at equal compute, scored on the held-out projects.

Usage: /usr/bin/python3 models/recipe/compare.py [--cpu-min 8] [--only NAME ...]
Each variant trains from scratch with train.py --clock cpu --threads 1, so every run gets
the same CPU seconds even while other jobs share the machine (one thread: no thread
waiting counted as work), then eval.py scores its checkpoint on --cap-bytes of every
held-out project. Results accumulate in work/compare/results.json; the table printed at
the end is the one in README.md. Variants differ from the baseline in one thing each.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
OUT = os.path.join(WORK, "compare")
PY = sys.executable

VARIANTS = {
    "gpt2-adamw": [],
    "llama-adamw": ["--arch", "llama"],
    "gpt2-muon": ["--optim", "muon"],
    "llama-muon": ["--arch", "llama", "--optim", "muon"],
    "gpt2-adamw-ctx512": ["--ctx", "512", "--batch", "4"],  # same tokens per step as batch 8 x 256
    "gpt2-adamw-vocab16k": ["--data", os.path.join(WORK, "tok16k")],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpu-min", type=float, default=2.5)
    ap.add_argument("--batch", type=int, default=8, help="small batches: more steps in a short budget")
    ap.add_argument("--cap-bytes", type=int, default=10_000)
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    res_path = os.path.join(OUT, "results.json")
    results = json.load(open(res_path)) if os.path.exists(res_path) else {}
    for name, extra in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        out = os.path.join(OUT, name)
        data = extra[extra.index("--data") + 1] if "--data" in extra else os.path.join(WORK, "tok2")
        cmd = [PY, os.path.join(HERE, "train.py"), "--config", "cpu", "--clock", "cpu", "--threads", "1",
               "--budget-min", str(args.cpu_min), "--warmup", "20", "--batch", str(args.batch), "--ckpt-min", "1000", "--out", out,
               "--data", data, "--heldout", os.path.join(WORK, "corpus", "heldout_projects.jsonl")] + \
              [a for a in extra if a != "--data" and a != data]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        ev = os.path.join(out, "eval.json")
        subprocess.run([PY, os.path.join(HERE, "eval.py"), "--ckpt", os.path.join(out, "ckpt.pt"),
                        "--tokenizer", os.path.join(data, "tokenizer.json"), "--cap-bytes", str(args.cap_bytes),
                        "--threads", "1", "--no-samples", "--out", ev], check=True)
        e = json.load(open(ev))
        last = [l for l in open(os.path.join(out, "train.log")) if " done: " in l][-1]
        total_b = sum(k["bytes"] for k in e["kinds"].values())
        results[name] = {"args": extra, "cpu_min": args.cpu_min, "tokens": e["trained_tokens"],
                         "done": last.strip(), "all_bpb": sum(k["model_bpb"] * k["bytes"] for k in e["kinds"].values()) / total_b,
                         "bpb": {k: round(v["model_bpb"], 3) for k, v in e["kinds"].items()}}
        json.dump(results, open(res_path, "w"), indent=1)
    print(table(results))


def table(results):
    kinds = sorted({k for r in results.values() for k in r["bpb"]})
    lines = ["| variant | tokens in budget | all | " + " | ".join(kinds) + " |",
             "|---|---|---|" + "---|" * len(kinds)]
    for name, r in results.items():
        lines.append(f"| {name} | {r['tokens'] / 1e6:.2f} M | **{r['all_bpb']:.3f}** | " +
                     " | ".join(f"{r['bpb'].get(k, float('nan')):.3f}" for k in kinds) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
