"""Export a training checkpoint to models/default/ (Hugging Face ONNX layout, fp32).

Usage: /usr/bin/python3 models/recipe/export_default.py [--ckpt models/recipe/work/ckpt/ckpt.pt] [--out models/default]
Writes onnx/model.onnx, config.json, generation_config.json, tokenizer.json,
tokenizer_config.json. MODEL_CARD.md and NOTICE are written by eval.py / by hand.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(os.path.dirname(HERE))
from bpe import ByteBPE  # noqa: E402
from export_onnx import export  # noqa: E402
from round_weights import round_to_fp16_precision  # noqa: E402
from gpt2 import GPT2, GPTConfig, generation_config, hf_config  # noqa: E402


def load_ckpt(path):
    ck = torch.load(path, map_location="cpu")
    if ck.get("arch", "gpt2") == "llama":
        import llama
        model = llama.Llama(llama.LlamaConfig(**ck["cfg"]))
    else:
        model = GPT2(GPTConfig(**ck["cfg"]))
    model.load_state_dict(ck["model"])
    return model.float().eval(), ck


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "work", "ckpt", "ckpt.pt"))
    ap.add_argument("--tok", default=os.path.join(HERE, "work", "tok"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "default"))
    args = ap.parse_args()
    model, ck = load_ckpt(args.ckpt)
    cfg = model.cfg
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    bpe = ByteBPE.load(os.path.join(args.tok, "tokenizer.json"))
    assert bpe.vocab_size == cfg.vocab_size
    bpe.save(args.out, cfg.n_positions)
    extra = {"training": {"steps": ck["step"], "tokens": ck["tokens"], "train_seconds": round(ck["elapsed"], 1),
                          "config": ck.get("config_name", "cpu")}}
    init = ck.get("init_from")
    if init:  # warm-started: report this run and the totals including what it started from
        extra["training"]["continued_from"] = init
        # a folder that was itself warm-started carries its own totals
        extra["training"]["total_tokens"] = ck["tokens"] + init.get("total_tokens", init.get("tokens", 0))
        extra["training"]["total_steps"] = ck["step"] + init.get("total_steps", init.get("steps", 0))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        if ck.get("arch", "gpt2") == "llama":
            import llama
            json.dump(llama.hf_config(cfg, extra), f, indent=2)
        else:
            json.dump(hf_config(cfg, extra), f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump(generation_config(), f, indent=2)
        f.write("\n")
    path = os.path.join(args.out, "onnx", "model.onnx")
    torch.manual_seed(0)
    export(model, path)
    # Weights at float16 precision (still float32): the VSIX compresses them (round_weights.py).
    round_to_fp16_precision(path)
    print(f"exported step {ck['step']} ({ck['tokens'] / 1e6:.1f} M tokens) -> {path} "
          f"{os.path.getsize(path) / 1e6:.1f} MB, weights rounded to float16 precision")


if __name__ == "__main__":
    main()
