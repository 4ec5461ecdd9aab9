"""Evaluate a model on the held-out projects, against xz -9e, gzip -9 and a baseline model.

Usage: /usr/bin/python3 models/recipe/eval.py [--model models/default | --ckpt work/ckpt-long/ckpt.pt]
           [--baseline models/recipe/baselines/first-edition-heldout.json] [--out FILE]
The held-out set (work/corpus/heldout_projects.jsonl, from corpus.py) holds whole projects
that were never trained on. Up to --cap-bytes of each (project, kind) is scored, in the
file's fixed order. Each document is scored on its own, as the extension does: BOS-prefixed
sliding windows (context = n_positions, stride), every token scored once; bits/byte =
total -log2 P / UTF-8 bytes. xz -9e and gzip -9 compress the same documents one by one
(`xz_bpb`), and xz -9e also each project's scored text in one stream (`xz_project_bpb`,
the stronger baseline). With --baseline (an eval.json of another model on the same
text, e.g. the first edition) its bits/byte stand beside this model's.
Writes <model>/eval.json (or --out) and prints a Markdown table; also times scoring
1,000 tokens and writes a few sample continuations.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

# OpenBLAS's own threads busy-wait; on a shared machine that burns the CPU the model
# needs (an fp32 evaluation took 5x the CPU time). torch's threads do the parallel work.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(os.path.dirname(HERE))
from bpe import ByteBPE  # noqa: E402
from gpt2 import GPT2, GPTConfig, windowed_logprobs  # noqa: E402
from train import load_init_from  # noqa: E402

KINDS = [("prose", "prose"), ("md", "markdown"), ("py", "python"), ("ts", "typescript"), ("js", "javascript"),
         ("other", "other languages")]


def load_folder(folder):
    c = json.load(open(os.path.join(folder, "config.json")))
    if c.get("model_type") == "llama":
        from llama import Llama, LlamaConfig
        cfg = LlamaConfig(vocab_size=c["vocab_size"], n_layer=c["num_hidden_layers"], n_head=c["num_attention_heads"],
                          n_embd=c["hidden_size"], n_positions=c["max_position_embeddings"],
                          intermediate_size=c["intermediate_size"], rope_theta=c["rope_theta"], rms_eps=c["rms_norm_eps"])
        model = Llama(cfg)
        c = dict(c, n_positions=c["max_position_embeddings"])
    else:
        cfg = GPTConfig(vocab_size=c["vocab_size"], n_layer=c["n_layer"], n_head=c["n_head"], n_embd=c["n_embd"],
                        n_positions=c["n_positions"])
        model = GPT2(cfg)
    load_init_from(model, folder)
    return model.float().eval(), c


def load_ckpt(path):
    """A training checkpoint (train.py) as (model, config dict like config.json's)."""
    ck = torch.load(path, map_location="cpu")
    arch = ck.get("arch", "gpt2")
    if arch == "llama":
        from llama import Llama, LlamaConfig
        cfg = LlamaConfig(**ck["cfg"])
        model = Llama(cfg)
    else:
        cfg = GPTConfig(**ck["cfg"])
        model = GPT2(cfg)
    model.load_state_dict(ck["model"], strict=False)
    return model.float().eval(), {"n_positions": cfg.n_positions, "step": ck["step"], "tokens": ck["tokens"]}


def compressed_bits(data: bytes, cmd):
    out = subprocess.run(cmd, input=data, capture_output=True, check=True).stdout
    return 8 * len(out)


@torch.no_grad()
def generate(model, bpe, prompt, n=48, temperature=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = [0] + bpe.encode(prompt)
    logits, past = model(torch.tensor([ids]))
    out = []
    for _ in range(n):
        row = logits[0, -1].double()
        if temperature <= 0:
            nxt = int(row.argmax())
        else:
            nxt = int(torch.multinomial(torch.softmax(row / temperature, -1), 1, generator=g))
        if nxt == 0 or len(ids) + len(out) + 1 >= model.cfg.n_positions:
            break
        out.append(nxt)
        pos = torch.tensor([[len(ids) + len(out) - 1]])
        logits, past = model(torch.tensor([[nxt]]), None, pos, past)
    return bpe.decode(out)


PROMPTS = [
    ("python", "import os\nimport sys\n\n\ndef read_lines(path):\n    "),
    ("typescript", "export function debounce<T extends (...args: any[]) => void>(fn: T, ms: number): T {\n  "),
    ("javascript", "const express = require('express');\nconst app = express();\n\n"),
    ("markdown", "## Installation\n\nTo install the package, run"),
    ("prose", "The President said that the people of the United States"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default"))
    ap.add_argument("--ckpt", default=None, help="score a training checkpoint instead of an exported folder")
    ap.add_argument("--tokenizer", default=None, help="tokenizer.json (default: the model folder's)")
    ap.add_argument("--heldout", default=os.path.join(HERE, "work", "corpus", "heldout_projects.jsonl"))
    ap.add_argument("--cap-bytes", type=int, default=40_000, help="per (project, kind)")
    ap.add_argument("--baseline", default=None, help="eval.json of another model on the same text")
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-samples", action="store_true")
    ap.add_argument("--stride", type=int, default=None, help="default: half the context")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.ckpt:
        model, c = load_ckpt(args.ckpt)
    else:
        model, c = load_folder(args.model)
    bpe = ByteBPE.load(args.tokenizer or os.path.join(args.model, "tokenizer.json"))
    ctx = c["n_positions"]
    stride = args.stride or ctx // 2
    docs, used = [], {}
    for line in open(args.heldout, encoding="utf-8"):
        d = json.loads(line)
        key = (d.get("source", ""), d["kind"])
        if used.get(key, 0) >= args.cap_bytes:
            continue
        used[key] = used.get(key, 0) + len(d["text"].encode("utf-8"))
        docs.append(d)
    per_doc = []
    t0 = time.time()
    ntok = 0
    for d in docs:
        text = d["text"]
        data = text.encode("utf-8")
        ids = bpe.encode(text)
        lps = windowed_logprobs(model, ids, ctx, stride)
        ntok += len(ids)
        bits = -sum(lps) / math.log(2)
        per_doc.append({"kind": d["kind"], "source": d.get("source", ""), "path": d["path"], "bytes": len(data),
                        "tokens": len(ids),
                        "model_bits": bits, "xz_bits": compressed_bits(data, ["xz", "-9e", "-c"]),
                        "gzip_bits": compressed_bits(data, ["gzip", "-9", "-c", "-n"])})
    eval_s = time.time() - t0
    kinds = {}
    for k, name in KINDS:
        ds = [p for p in per_doc if p["kind"] == k]
        if not ds:
            continue
        B = sum(p["bytes"] for p in ds)
        r = {"docs": len(ds), "bytes": B, "tokens": sum(p["tokens"] for p in ds),
             "model_bpb": sum(p["model_bits"] for p in ds) / B,
             "xz_bpb": sum(p["xz_bits"] for p in ds) / B,
             "gzip_bpb": sum(p["gzip_bits"] for p in ds) / B,
             "model_bpb_mean_of_docs": sum(p["model_bits"] / p["bytes"] for p in ds) / len(ds),
             "xz_bpb_mean_of_docs": sum(p["xz_bits"] / p["bytes"] for p in ds) / len(ds)}
        r["ratio_to_xz"] = r["model_bpb"] / r["xz_bpb"]
        r["bytes_per_token"] = B / r["tokens"]
        projects = {}
        for src in sorted({p["source"] for p in ds}):
            pd = [p for p in ds if p["source"] == src]
            text = "".join(d["text"] for d in docs if d["kind"] == k and d.get("source", "") == src).encode("utf-8")
            pb = sum(p["bytes"] for p in pd)
            projects[src] = {"bytes": pb, "model_bpb": sum(p["model_bits"] for p in pd) / pb,
                             "xz_project_bits": compressed_bits(text, ["xz", "-9e", "-c"])}
        r["xz_project_bpb"] = sum(p["xz_project_bits"] for p in projects.values()) / B
        for p in projects.values():
            p["xz_project_bpb"] = p.pop("xz_project_bits") / p["bytes"]
        r["projects"] = projects
        kinds[name] = r
    if args.baseline:
        base = json.load(open(args.baseline, encoding="utf-8"))
        for name, r in kinds.items():
            b = base["kinds"].get(name)
            if b and b["bytes"] == r["bytes"]:
                r["baseline_bpb"] = b["model_bpb"]
                r["change_vs_baseline"] = r["model_bpb"] / b["model_bpb"] - 1

    # speed: score 1,000 tokens (one pass per 255-token window, stride = context - 1), fp32, 2 threads
    long_ids = bpe.encode("".join(d["text"] for d in docs if d["kind"] == "py"))[:1000]
    windowed_logprobs(model, long_ids[:100], ctx, ctx - 1)
    t1 = time.time()
    for _ in range(3):
        windowed_logprobs(model, long_ids, ctx, ctx - 1)
    score_1000_s = (time.time() - t1) / 3

    samples = [] if args.no_samples or args.ckpt else [
        {"kind": k, "prompt": p, "greedy": generate(model, bpe, p, 48, 0.0),
         "t0.7": generate(model, bpe, p, 48, 0.7, seed=1)} for k, p in PROMPTS]
    res = {"model": os.path.relpath(args.ckpt or args.model, ROOT), "heldout": os.path.relpath(args.heldout, ROOT),
           "heldout_by": "project", "cap_bytes_per_project_kind": args.cap_bytes,
           "baseline": os.path.relpath(args.baseline, ROOT) if args.baseline else None,
           "trained_tokens": c.get("tokens") or c.get("training", {}).get("tokens"),
           "context": ctx, "stride": stride, "kinds": kinds,
           "eval_seconds": round(eval_s, 1), "eval_tokens": ntok, "score_1000_tokens_seconds_torch_fp32": round(score_1000_s, 3),
           "samples": samples, "documents": per_doc}
    with open(args.out or os.path.join(args.model, "eval.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(markdown_table(res))
    for s in samples:
        print(f"--- {s['kind']}: {s['prompt']!r}\n greedy: {s['greedy']!r}\n t0.7:   {s['t0.7']!r}")
    print(f"scoring 1,000 tokens (PyTorch fp32, {args.threads} threads): {score_1000_s:.3f} s")


def markdown_table(res):
    lines = ["| kind | projects | docs | KB | bytes/token | model bits/byte | first edition | change | "
             "xz -9e per doc | xz -9e per project | gzip -9 |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in res["kinds"].items():
        b = f"{r['baseline_bpb']:.3f}" if "baseline_bpb" in r else "-"
        ch = f"{100 * r['change_vs_baseline']:+.1f}%" if "change_vs_baseline" in r else "-"
        lines.append(f"| {name} | {len(r['projects'])} | {r['docs']} | {r['bytes'] / 1e3:.0f} | {r['bytes_per_token']:.2f} | "
                     f"**{r['model_bpb']:.3f}** | {b} | {ch} | {r['xz_bpb']:.3f} | {r['xz_project_bpb']:.3f} | "
                     f"{r['gzip_bpb']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
