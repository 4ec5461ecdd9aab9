"""MatMul-only graphs (A [M, K] input x constant B [K, N]) to measure what ONNX Runtime's
SGEMM reaches on this CPU: the practical ceiling next to the theoretical peak.
Usage: /usr/bin/python3 bench/scratch/make_gemm.py OUT_DIR"""
import sys
import numpy as np
import onnx
from onnx import helper as h, TensorProto as T, numpy_helper

out = sys.argv[1]
for K, N in [(256, 768), (256, 1024), (1024, 256), (256, 8192), (1024, 1024)]:
    B = numpy_helper.from_array(np.random.default_rng(0).standard_normal((K, N)).astype(np.float32), "B")
    g = h.make_graph([h.make_node("MatMul", ["A", "B"], ["C"])], "gemm",
                     [h.make_tensor_value_info("A", T.FLOAT, ["M", K])], [h.make_tensor_value_info("C", T.FLOAT, ["M", N])], [B])
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), f"{out}/gemm_{K}x{N}.onnx")
