"""Recipe comparisons: short from-scratch runs at equal compute, scored on the held-out projects.

Usage: /usr/bin/python3 models/recipe/compare.py [--cpu-min 8] [--only NAME ...]
Each variant trains from scratch with train.py --clock cpu --threads 1, so every run gets
the same CPU seconds even while other jobs share the machine (one thread: no thread
waiting counted as work), and is scored by train.py's held-out loss (48 windows from the
held-out projects, nats/token and bits/byte, the latter comparable across tokenizers);
--eval adds eval.py's per-kind figures on --cap-bytes of every held-out project.
Results accumulate in work/compare/results.json; the table printed at
the end is the one in README.md. Variants differ from the baseline in one thing each.
"""
from __future__ import annotations

import argparse
import json
import os
import re
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
    ap.add_argument("--eval", action="store_true", help="also eval.py per kind on --cap-bytes per project")
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
        if os.path.exists(os.path.join(out, "ckpt.pt")):
            os.remove(os.path.join(out, "ckpt.pt"))  # always from scratch
        subprocess.run(cmd, check=True)
        last = [l for l in open(os.path.join(out, "train.log")) if " done: " in l][-1]
        m = re.search(r"([\d.]+) M tokens.*held-out loss ([\d.]+) nats/token, ([\d.]+) bits/byte", last)
        r = {"args": extra, "cpu_min": args.cpu_min, "batch": args.batch, "tokens": float(m.group(1)) * 1e6,
             "heldout_nats_per_token": float(m.group(2)), "all_bpb": float(m.group(3)), "done": last.strip(), "bpb": {}}
        if args.eval:  # per kind, on more text (slow on a shared machine)
            ev = os.path.join(out, "eval.json")
            subprocess.run([PY, os.path.join(HERE, "eval.py"), "--ckpt", os.path.join(out, "ckpt.pt"),
                            "--tokenizer", os.path.join(data, "tokenizer.json"), "--cap-bytes", str(args.cap_bytes),
                            "--threads", "1", "--no-samples", "--out", ev], check=True)
            e = json.load(open(ev))
            r["bpb"] = {k: round(v["model_bpb"], 3) for k, v in e["kinds"].items()}
        results[name] = r
        json.dump(results, open(res_path, "w"), indent=1)
    print(table(results))


def table(results):
    kinds = sorted({k for r in results.values() for k in r["bpb"]})
    lines = ["| variant | CPU min | tokens in budget | held-out nats/token | held-out bits/byte | " +
             " | ".join(kinds) + (" |" if kinds else ""),
             "|---|---|---|---|---|" + "---|" * len(kinds)]
    for name, r in results.items():
        lines.append(f"| {name} | {r['cpu_min']} | {r['tokens'] / 1e6:.2f} M | {r['heldout_nats_per_token']:.3f} | "
                     f"**{r['all_bpb']:.3f}** |" + "".join(f" {r['bpb'].get(k, float('nan')):.3f} |" for k in kinds))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
