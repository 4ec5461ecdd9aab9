"""Round an exported graph's float32 weights to float16 precision, stored as float32.

Usage: /usr/bin/python3 models/recipe/round_weights.py [models/default/onnx/model.onnx]

Why: the packaged extension is a zip, and float32 weights barely compress (27.7 MB of
weights deflate to 25.6 MB), which put the linux-x64 VSIX at 44 MB against a 40 MB limit.
With every weight rounded to the nearest float16 value (11 significant bits) the low two
bytes of each float are mostly zero and the same file deflates to 16.0 MB, while the graph
stays float32: the same operators, the same speed, the in-graph scoring rewrite still
applies, and transformers.js loads it as before. Measured on the first-edition default
model over the parity fixture's 4,208 held-out tokens (bench/weightRounding.ts): max
|delta ln p| 0.0074, mean 0.0008, bits per byte equal to 4 decimals (the parity fixture is
made from the rounded weights, so parity with PyTorch is unchanged). Idempotent: rounding
a rounded graph changes nothing.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def round_to_fp16_precision(path: str) -> int:
    """Rounds every float32 initializer of the graph in place; returns how many changed."""
    model = onnx.load(path)
    changed = 0
    for init in model.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(init)
        rounded = values.astype(np.float16).astype(np.float32)
        if not np.array_equal(values, rounded):
            init.CopyFrom(numpy_helper.from_array(rounded, init.name))
            changed += 1
    onnx.save(model, path)
    return changed


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "default", "onnx", "model.onnx")
    n = round_to_fp16_precision(target)
    print(f"{target}: {n} weight tensors rounded to float16 precision")
