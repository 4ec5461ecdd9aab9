"""Build the tiny TEST model in models/tiny/ (random weights, fixed seed) and its fixtures.

Usage (from the repo root):  /usr/bin/python3 models/recipe/make_tiny.py
Writes models/tiny/{config.json,generation_config.json,tokenizer.json,tokenizer_config.json,
onnx/model.onnx,reference.json,README.md} and test/fixtures/models/no-logits.onnx.
The tokenizer (vocab 400) is trained on models/recipe/data/tiny-train.py.txt (CPython's
textwrap.py, PSF-2.0). Weights are random: the model is for testing the engine, not for use.
"""
from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(os.path.dirname(HERE))

import torch  # noqa: E402

from bpe import ByteBPE, count_words, train_bpe  # noqa: E402
from export_onnx import export, rename_output  # noqa: E402
from gpt2 import GPT2, GPTConfig, generation_config, hf_config, token_logprobs, windowed_logprobs  # noqa: E402

OUT = os.path.join(ROOT, "models", "tiny")
FIX = os.path.join(ROOT, "test", "fixtures", "models")
SEED = 1234
VOCAB = 400
CTX = 64

LONG_TEXT = (
    "The quick brown fox jumps over the lazy dog. "
    "def wrap(text, width=70, **kwargs):\n"
    "    w = TextWrapper(width=width, **kwargs)\n"
    "    return w.wrap(text)\n\n"
    "Surprisal is the negative log-probability of a token given what came before it; "
    "a model that predicts well assigns high probability to what actually follows, "
    "and low surprisal means the text was easy to guess. Sliding windows let a short "
    "context cover a long document: each window starts with the beginning-of-text "
    "token, and every token is scored exactly once.\n"
    "for i in range(10):\n\tprint(i, i * i)  # tabs and spaces\n"
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u2014 \u00bfqu\u00e9 tal? \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \U0001F600\n"
)

CASES = [
    ("ascii-english", "Hello, world! This is a plain English sentence, with punctuation; and numbers 12345."),
    ("python-indent", "class Foo:\n    def bar(self, x):\n        if x:\n            return x * 2\n\treturn None\n"),
    ("crlf", "first line\r\nsecond line\r\n\r\nlast line"),
    ("emoji", "Thumbs \U0001F44D\U0001F3FD and family \U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 done."),
    ("cjk", "\u6f22\u5b57\u3068\u304b\u306a\u3001\u4e2d\u6587\u5b57\u7b26\uff0c\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8."),
    ("combining", "cafe\u0301 and e\u0301le\u0300ve, n\u0303 precomposed caf\u00e9"),
    ("rtl", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 and \u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd"),
    ("long", LONG_TEXT),
]


def main() -> None:
    torch.manual_seed(SEED)
    with open(os.path.join(HERE, "data", "tiny-train.py.txt"), encoding="utf-8", newline="") as f:
        train_text = f.read()
    merges = train_bpe(count_words([train_text]), VOCAB, min_frequency=2)
    bpe = ByteBPE(merges)
    assert bpe.vocab_size == VOCAB, bpe.vocab_size
    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    os.makedirs(FIX, exist_ok=True)
    bpe.save(OUT, CTX)

    cfg = GPTConfig(vocab_size=VOCAB, n_layer=2, n_head=2, n_embd=32, n_positions=CTX)
    model = GPT2(cfg)
    g = torch.Generator().manual_seed(SEED)
    model.init_weights(std=0.3, generator=g)
    # LayerNorm gains/biases random too, so the test model exercises every parameter.
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(torch.randn(p.shape, generator=g) * 0.1)
    model.eval()

    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(hf_config(cfg), f, indent=2)
        f.write("\n")
    with open(os.path.join(OUT, "generation_config.json"), "w") as f:
        json.dump(generation_config(), f, indent=2)
        f.write("\n")

    onnx_path = os.path.join(OUT, "onnx", "model.onnx")
    torch.manual_seed(SEED)
    export(model, onnx_path)
    rename_output(onnx_path, os.path.join(FIX, "no-logits.onnx"), "logits", "scores")

    cases = []
    for name, text in CASES:
        ids = bpe.encode(text)
        assert bpe.decode_bytes(ids) == text.encode("utf-8")
        if name != "long":
            assert len(ids) + 1 <= CTX, (name, len(ids))
            lp, ranks, ent, top10 = token_logprobs(model, ids)
            case = {"name": name, "text": text, "ids": ids, "logprobs": lp, "ranks": ranks,
                    "entropies_bits": ent, "top10": top10}
        else:
            # Plain (unwindowed) values need the whole sequence in one pass: positions past
            # n_positions do not exist, so for the long case "logprobs"/"ranks"/... are the
            # windowed ones (context 64, stride 32) and "windowed" repeats them explicitly.
            assert len(ids) > 3 * CTX, len(ids)
            lp = windowed_logprobs(model, ids, CTX, 32)
            ranks, ent, top10 = windowed_stats(model, ids, CTX, 32)
            case = {"name": name, "text": text, "ids": ids, "logprobs": lp, "ranks": ranks,
                    "entropies_bits": ent, "top10": top10,
                    "windowed": {"context": CTX, "stride": 32, "logprobs": lp}}
        cases.append(case)
        print(f"{name}: {len(ids)} tokens, mean logprob {sum(case['logprobs']) / len(ids):.3f}")

    ref = {
        "model": "models/tiny",
        "bos_token_id": 0,
        "note": "ln P(ids[i] | BOS, ids[<i]) from PyTorch float32 (log_softmax in float64). "
                "Long case: BOS-prefixed sliding windows, context 64 (63 document tokens + BOS), stride 32.",
        "cases": cases,
    }
    with open(os.path.join(OUT, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, ensure_ascii=True, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(README)
    print("ok", sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT) for fn in fns), "bytes")


@torch.no_grad()
def windowed_stats(model, ids, context, stride):
    import math
    N, L = len(ids), context - 1
    ranks, ents, tops = [], [], []
    a = prev_end = 0
    while True:
        end = min(a + L, N)
        logits, _ = model(torch.tensor([[0] + ids[a:end]]))
        lp = torch.log_softmax(logits[0].double(), dim=-1)
        for t in range(prev_end, end):
            row = lp[t - a]
            ranks.append(int((row > row[ids[t]]).sum().item()) + 1)
            ents.append(float(-(row.exp() * row).sum().item() / math.log(2)))
            tops.append(torch.topk(row, 10).indices.tolist())
        prev_end = end
        if end == N:
            break
        a += stride
    return ranks, ents, tops


README = """# Tiny test model (random weights)

GPT-2 layout, 2 layers x 32 wide, 2 heads, context 64 (deliberately small so sliding
windows are exercised), byte-level BPE with 400 tokens. Weights are RANDOM (fixed seed):
this model exists for the engine's tests, its predictions mean nothing.

Rebuild: `/usr/bin/python3 models/recipe/make_tiny.py` (Debian python3-torch 1.13,
python3-onnx, python3-regex). `reference.json` holds PyTorch log-probs (natural log), ranks,
entropies (bits) and top-10 ids per token, each text scored after BOS (id 0); the long case
uses BOS-prefixed sliding windows (context 64, stride 32).
`test/fixtures/models/no-logits.onnx` is the same graph with the `logits` output renamed
to `scores`.

Tokenizer training text: CPython 3.11 `textwrap.py` (PSF-2.0).
"""

if __name__ == "__main__":
    main()
