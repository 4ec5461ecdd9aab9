"""Write test/fixtures/models/default-parity.json: PyTorch reference for models/default.

Usage: /usr/bin/python3 models/recipe/make_parity.py [--model models/default]
- "tokenizer_cases": varied Unicode texts with the Python tokenizer's ids (JS must match).
- "documents": prefixes of held-out documents (each at most n_positions-1 tokens, so one
  BOS-prefixed window), with ln P(ids[i] | BOS, ids[<i]) computed by PyTorch (float32
  weights from the exported ONNX, log_softmax in float64).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(os.path.dirname(HERE))
from bpe import ByteBPE  # noqa: E402
from eval import load_folder  # noqa: E402
from gpt2 import token_logprobs  # noqa: E402

TOKENIZER_TEXTS = [
    "Hello, world! It's a test: we're done, they'll see, I'd say, you've got it, I'm sure.",
    "IT'S LOUD. DON'T SHOUT!",
    "def f(x):\n    if x:\n        return x  # comment\n\treturn None\n",
    "        deeply   indented    text with     runs of spaces      \n\n\n   \n",
    "line one\r\nline two\r\n\r\n",
    "tabs\t\tand\tmixed \t whitespace\u00a0nbsp\u2003em-space\u3000ideographic",
    "\ufeffBOM at start and U+0085 here:\u0085 and \u2028 line sep",
    "Emoji: \U0001F600 \U0001F44D\U0001F3FD \U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 \U0001F1EB\U0001F1F7",
    "CJK: \u6f22\u5b57\u3068\u304b\u306a\u3001\u4e2d\u6587\u5b57\u7b26\uff0c\ud55c\uad6d\uc5b4",
    "Combining: cafe\u0301 vs caf\u00e9, n\u0303, a\u0308\u0304",
    "RTL: \u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 \u05e9\u05dc\u05d5\u05dd",
    "Numbers 1234567890 3.14159 1e-10 0xFF \u0661\u0662\u0663 \u2460\u2461 \u00bd",
    "const x: Array<Map<string, number>> = [];  // TS generics => arrow\nexport default x;\n",
    "<div class=\"a\">&amp; &lt;tag&gt;</div> `code` **bold** [link](http://example.com/a?b=c&d=e)",
    "Zero\u200bwidth\u200cnon\u200djoiner, soft\u00adhyphen, \U00010348 gothic, \U0001D54F math",
    "",
    " ",
    "\n",
    "a",
    "   leading spaces and trailing   ",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default"))
    ap.add_argument("--heldout", default=os.path.join(HERE, "work", "corpus", "heldout_projects.jsonl"))
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "models", "default-parity.json"))
    ap.add_argument("--per-kind", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, c = load_folder(args.model)
    bpe = ByteBPE.load(os.path.join(args.model, "tokenizer.json"))
    maxtok = c["n_positions"] - 1
    tcases = []
    for t in TOKENIZER_TEXTS:
        ids = bpe.encode(t)
        assert bpe.decode_bytes(ids) == t.encode("utf-8")
        tcases.append({"text": t, "ids": ids})
    docs = [json.loads(l) for l in open(args.heldout, encoding="utf-8")]
    out_docs = []
    counts = {}
    for d in docs:
        k = d["kind"]
        if counts.get(k, 0) >= args.per_kind:
            continue
        lines = d["text"].splitlines(keepends=True)
        text = ""
        for line in lines:
            if len(bpe.encode(text + line)) > maxtok:
                break
            text += line
        if len(bpe.encode(text)) < 64:
            continue
        counts[k] = counts.get(k, 0) + 1
        ids = bpe.encode(text)
        lp, ranks, ent, top10 = token_logprobs(model, ids)
        out_docs.append({"name": f"{k}-{counts[k]}", "kind": k, "source": d["path"], "text": text, "ids": ids,
                         "logprobs": lp, "ranks": ranks, "top10": [t[:5] for t in top10]})
    res = {"model": "models/default", "bos_token_id": 0, "context": c["n_positions"],
           "note": "ln P(ids[i] | BOS, ids[<i]) from PyTorch (fp32 weights, float64 log_softmax); "
                   "each document prefix fits one BOS-prefixed window. top10 holds the 5 most likely ids.",
           "tokenizer_cases": tcases, "documents": out_docs}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=True)
        f.write("\n")
    print(f"{len(out_docs)} documents, {sum(len(d['ids']) for d in out_docs)} tokens, "
          f"{len(tcases)} tokenizer cases -> {args.out} ({os.path.getsize(args.out) / 1e3:.0f} KB)")


if __name__ == "__main__":
    main()
