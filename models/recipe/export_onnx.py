"""Export a GPT2 (gpt2.py) to the Hugging Face ONNX decoder layout used by transformers.js.

inputs : input_ids, attention_mask, position_ids (int64),
         past_key_values.{i}.key / .value  [batch_size, n_head, past_sequence_length, head_dim]
outputs: logits [batch_size, sequence_length, vocab], present.{i}.key / .value
"""
from __future__ import annotations

import torch
import torch.nn as nn

from gpt2 import GPT2


class _Wrapper(nn.Module):
    def __init__(self, model: GPT2):
        super().__init__()
        self.model = model
        self.n_layer = model.cfg.n_layer

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(self.n_layer)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def export(model: GPT2, path: str, opset: int = 17) -> None:
    model = model.eval().float()
    cfg = model.cfg
    H, D = cfg.n_head, cfg.n_embd // cfg.n_head
    B, T, P = 2, 3, 4
    input_ids = torch.randint(1, cfg.vocab_size, (B, T), dtype=torch.long)
    attention_mask = torch.ones(B, P + T, dtype=torch.long)
    position_ids = (torch.arange(T) + P).unsqueeze(0).expand(B, T).contiguous()
    past = []
    in_names = ["input_ids", "attention_mask", "position_ids"]
    out_names = ["logits"]
    dyn = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    for i in range(cfg.n_layer):
        for kv in ("key", "value"):
            past.append(torch.randn(B, H, P, D))
            n = f"past_key_values.{i}.{kv}"
            in_names.append(n)
            dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
            o = f"present.{i}.{kv}"
            out_names.append(o)
            dyn[o] = {0: "batch_size", 2: "total_sequence_length"}
    with torch.no_grad():
        torch.onnx.export(
            _Wrapper(model), (input_ids, attention_mask, position_ids, *past), path,
            input_names=in_names, output_names=out_names, dynamic_axes=dyn,
            opset_version=opset, do_constant_folding=False,  # keep weights as named initializers, no transposed copies
        )
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)


def rename_output(src: str, dst: str, old: str, new: str) -> None:
    import onnx
    m = onnx.load(src)
    for node in m.graph.node:
        for i, o in enumerate(node.output):
            if o == old:
                node.output[i] = new
    for o in m.graph.output:
        if o.name == old:
            o.name = new
    onnx.checker.check_model(m)
    onnx.save(m, dst)
