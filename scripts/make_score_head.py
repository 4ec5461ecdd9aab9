#!/usr/bin/python3
"""Writes media/score-head.onnx: per-row statistics of a logits matrix, computed by ONNX
Runtime's vectorised kernels instead of JavaScript loops.

Inputs:  logits [rows, vocab] float32, targets [rows] int64, k [1] int64,
         displayable [1] int64 (ids at or above it are never listed in top-k)
Outputs: target_logprob [rows], rank [rows] (1 + tokens with a strictly larger logit),
         entropy_bits [rows], top_logprob [rows, k], top_ids [rows, k] int64

Run with Debian's python3-onnx: /usr/bin/python3 scripts/make_score_head.py
"""
import math
import os

import onnx
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "media", "score-head.onnx")


def const_i64(name, values):
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name + "_v", TensorProto.INT64, [len(values)], values))


def const_f32(name, value):
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name + "_v", TensorProto.FLOAT, [], [value]))


nodes = [
    const_i64("axis1", [1]),
    const_i64("zero_i", [0]),
    const_f32("zero_f", 0.0),
    const_f32("one_f", 1.0),
    const_f32("inv_ln2", 1.0 / math.log(2.0)),
    helper.make_node("ReduceMax", ["logits"], ["row_max"], axes=[1], keepdims=1),
    helper.make_node("Sub", ["logits", "row_max"], ["shifted"]),
    helper.make_node("Exp", ["shifted"], ["exp"]),
    helper.make_node("ReduceSum", ["exp", "axis1"], ["sum_exp"], keepdims=1),
    helper.make_node("Log", ["sum_exp"], ["log_z"]),
    helper.make_node("Sub", ["shifted", "log_z"], ["logprobs"]),
    # Entropy (nats) = log Z - E[shifted]; rows may hold -inf logits, whose 0 * -inf must count as 0.
    helper.make_node("Greater", ["exp", "zero_f"], ["positive"]),
    helper.make_node("Mul", ["exp", "shifted"], ["exp_shifted_raw"]),
    helper.make_node("Where", ["positive", "exp_shifted_raw", "zero_f"], ["exp_shifted"]),
    helper.make_node("ReduceSum", ["exp_shifted", "axis1"], ["sum_exp_shifted"], keepdims=1),
    helper.make_node("Div", ["sum_exp_shifted", "sum_exp"], ["mean_shifted"]),
    helper.make_node("Sub", ["log_z", "mean_shifted"], ["entropy_nats_2d"]),
    helper.make_node("Mul", ["entropy_nats_2d", "inv_ln2"], ["entropy_bits_2d"]),
    helper.make_node("Squeeze", ["entropy_bits_2d", "axis1"], ["entropy_bits"]),
    # The target's log-prob and rank.
    helper.make_node("Unsqueeze", ["targets", "axis1"], ["targets_2d"]),
    helper.make_node("GatherElements", ["logprobs", "targets_2d"], ["target_logprob_2d"], axis=1),
    helper.make_node("Squeeze", ["target_logprob_2d", "axis1"], ["target_logprob"]),
    helper.make_node("GatherElements", ["logits", "targets_2d"], ["target_logit"], axis=1),
    helper.make_node("Greater", ["logits", "target_logit"], ["above"]),
    helper.make_node("Cast", ["above"], ["above_f"], to=TensorProto.FLOAT),
    helper.make_node("ReduceSum", ["above_f", "axis1"], ["above_count"], keepdims=0),
    helper.make_node("Add", ["above_count", "one_f"], ["rank"]),
    # Top-k over the ids the tokenizer can show.
    helper.make_node("Slice", ["logprobs", "zero_i", "displayable", "axis1"], ["shown_logprobs"]),
    helper.make_node("TopK", ["shown_logprobs", "k"], ["top_logprob", "top_ids"], axis=1, largest=1, sorted=1),
]

graph = helper.make_graph(
    nodes,
    "score_head",
    [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["rows", "vocab"]),
        helper.make_tensor_value_info("targets", TensorProto.INT64, ["rows"]),
        helper.make_tensor_value_info("k", TensorProto.INT64, [1]),
        helper.make_tensor_value_info("displayable", TensorProto.INT64, [1]),
    ],
    [
        helper.make_tensor_value_info("target_logprob", TensorProto.FLOAT, ["rows"]),
        helper.make_tensor_value_info("rank", TensorProto.FLOAT, ["rows"]),
        helper.make_tensor_value_info("entropy_bits", TensorProto.FLOAT, ["rows"]),
        helper.make_tensor_value_info("top_logprob", TensorProto.FLOAT, ["rows", "k_out"]),
        helper.make_tensor_value_info("top_ids", TensorProto.INT64, ["rows", "k_out"]),
    ],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="surprisal-lens")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, OUT)
print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")
