"""Train the ~8,192-token byte-level BPE on the training split and tokenize the corpus.

Usage: /usr/bin/python3 models/recipe/train_tokenizer.py [--vocab 8192]
       /usr/bin/python3 models/recipe/train_tokenizer.py --reuse models/default/tokenizer.json
Writes <out>/tokenizer.json + tokenizer_config.json, <out>/train.bin (uint16 token
ids, every document prefixed with BOS id 0; documents in shuffled order) and
<out>/stats.json (bytes/token per kind, on the held-out documents).
--reuse skips BPE training and tokenizes with an existing tokenizer, so a model trained
with that tokenizer (the shipped one) can keep training on a new corpus.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from multiprocessing import Pool

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bpe import PAT, ByteBPE, train_bpe  # noqa: E402

WORK = os.path.join(HERE, "work")
TOK = os.path.join(WORK, "tok")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def _count(texts):
    c = Counter()
    for t in texts:
        c.update(PAT.findall(t))
    return c


_bpe = None


def _init(tok_path):
    global _bpe
    _bpe = ByteBPE.load(tok_path)


def _encode(texts):
    out = []
    for t in texts:
        out.append(np.array([0] + _bpe.encode(t), dtype=np.uint16))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--ctx", type=int, default=256, help="model_max_length written to tokenizer_config.json")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--corpus", default=os.path.join(WORK, "corpus"), help="folder with train.jsonl, heldout.jsonl")
    ap.add_argument("--out", default=TOK)
    ap.add_argument("--reuse", default=None, help="existing tokenizer.json: tokenize only, no BPE training")
    ap.add_argument("--sample-mb", type=float, default=None,
                    help="use only the first N MB of train.jsonl (it is shuffled) for BPE training and train.bin: "
                         "enough for short recipe comparisons")
    args = ap.parse_args()
    TOKD = args.out
    os.makedirs(TOKD, exist_ok=True)
    t0 = time.time()
    docs = list(read_jsonl(os.path.join(args.corpus, "train.jsonl")))
    texts = [d["text"] for d in docs]
    if args.sample_mb:
        keep, n = [], 0
        for t in texts:
            if n >= args.sample_mb * 1e6:
                break
            keep.append(t)
            n += len(t.encode("utf-8"))
        texts = keep
    if args.reuse:
        bpe = ByteBPE.load(args.reuse)
        bpe.save(TOKD, args.ctx)
        print(f"reusing {args.reuse} ({bpe.vocab_size} tokens)", flush=True)
    else:
        chunks = [texts[i::args.procs * 4] for i in range(args.procs * 4)]
        with Pool(args.procs) as p:
            counts = Counter()
            for c in p.map(_count, chunks):
                counts.update(c)
        print(f"counted {len(counts)} distinct pre-tokens in {time.time() - t0:.1f}s", flush=True)
        t1 = time.time()
        merges = train_bpe(counts, args.vocab, min_frequency=2, log_every=1000)
        print(f"trained {len(merges)} merges in {time.time() - t1:.1f}s", flush=True)
        bpe = ByteBPE(merges)
        bpe.save(TOKD, args.ctx)
    tok_path = os.path.join(TOKD, "tokenizer.json")

    t2 = time.time()
    with Pool(args.procs, initializer=_init, initargs=(tok_path,)) as p:
        step = 64
        arrs = []
        for res in p.imap(_encode, [texts[i:i + step] for i in range(0, len(texts), step)]):
            arrs.extend(res)
    ids = np.concatenate(arrs)
    # write then rename: a running trainer may be reading the previous train.bin
    ids.tofile(os.path.join(TOKD, "train.bin.tmp"))
    os.replace(os.path.join(TOKD, "train.bin.tmp"), os.path.join(TOKD, "train.bin"))
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    print(f"tokenized {nbytes / 1e6:.1f} MB -> {len(ids) / 1e6:.2f} M tokens ({nbytes / len(ids):.2f} bytes/token)"
          f" in {time.time() - t2:.1f}s", flush=True)

    # bytes/token per kind on held-out documents, and the longest whitespace-only token
    _init(tok_path)
    per = {}
    for d in read_jsonl(os.path.join(args.corpus, "heldout_projects.jsonl")):
        n = len(_bpe.encode(d["text"]))
        b = len(d["text"].encode("utf-8"))
        k = per.setdefault(d["kind"], [0, 0])
        k[0] += b
        k[1] += n
    stats = {
        "vocab_size": bpe.vocab_size,
        "train_bytes": nbytes, "train_tokens": int(len(ids)), "train_docs": len(texts),
        "bytes_per_token_heldout": {k: round(v[0] / v[1], 3) for k, v in per.items()},
        "space_run_tokens": [bpe.token_str(i) for i in range(257, bpe.vocab_size)
                             if set(bpe.token_bytes[i]) <= {32}][:20],
        "seconds": round(time.time() - t0, 1),
    }
    with open(os.path.join(TOKD, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1, ensure_ascii=False)
    print(json.dumps(stats, ensure_ascii=False))


if __name__ == "__main__":
    main()
