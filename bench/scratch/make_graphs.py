"""Scratch graphs for the engine investigation (bench/scratch, not shipped).

  postproc.onnx  : logits [N, V], targets [N] -> logprob [N], rank [N], entropy [N] (nats),
                   top_logprobs [N, K], top_ids [N, K]   (a second tiny graph, any model)
  fused.onnx     : the model graph itself with an extra input `keep` (int64 [1]) and `targets`
                   [B, keep]: the LM head runs only on the last `keep` positions and the same
                   statistics come out instead of the full logits.
Usage: /usr/bin/python3 bench/scratch/make_graphs.py MODEL_DIR OUT_DIR [K]
"""
import sys
import onnx
from onnx import helper as h, TensorProto as T

model_dir, out_dir = sys.argv[1], sys.argv[2]
K = int(sys.argv[3]) if len(sys.argv) > 3 else 10


def stats_nodes(logits2d, targets1d, prefix):
    """Nodes from logits [N, V] (name) and targets [N] (name) to the five outputs."""
    c = lambda n: f"{prefix}{n}"
    nodes = [
        h.make_node("LogSoftmax", [logits2d], [c("lsm")], axis=-1),
        h.make_node("Constant", [], [c("one_axis")], value=h.make_tensor(c("one_axis_v"), T.INT64, [1], [1])),
        h.make_node("Unsqueeze", [targets1d, c("one_axis")], [c("tgt2")]),
        h.make_node("GatherElements", [c("lsm"), c("tgt2")], [c("tlp2")], axis=1),
        h.make_node("Squeeze", [c("tlp2"), c("one_axis")], ["logprob"]),
        h.make_node("Greater", [c("lsm"), c("tlp2")], [c("gt")]),
        h.make_node("Cast", [c("gt")], [c("gtf")], to=T.FLOAT),
        h.make_node("ReduceSum", [c("gtf"), c("one_axis")], [c("rank0")], keepdims=0),
        h.make_node("Exp", [c("lsm")], [c("p")]),
        h.make_node("Mul", [c("p"), c("lsm")], [c("plp")]),
        h.make_node("ReduceSum", [c("plp"), c("one_axis")], [c("negent")], keepdims=0),
        h.make_node("Neg", [c("negent")], ["entropy"]),
        h.make_node("Constant", [], [c("k")], value=h.make_tensor(c("k_v"), T.INT64, [1], [K])),
        h.make_node("TopK", [c("lsm"), c("k")], ["top_logprobs", "top_ids"], axis=-1, largest=1, sorted=1),
        # rank counts strictly greater; the engine reports rank = greater + 1
        h.make_node("Constant", [], [c("onef")], value=h.make_tensor(c("onef_v"), T.FLOAT, [], [1.0])),
        h.make_node("Add", [c("rank0"), c("onef")], ["rank"]),
    ]
    outputs = [
        h.make_tensor_value_info("logprob", T.FLOAT, ["N"]),
        h.make_tensor_value_info("rank", T.FLOAT, ["N"]),
        h.make_tensor_value_info("entropy", T.FLOAT, ["N"]),
        h.make_tensor_value_info("top_logprobs", T.FLOAT, ["N", K]),
        h.make_tensor_value_info("top_ids", T.INT64, ["N", K]),
    ]
    return nodes, outputs


# 1. stand-alone post-processing graph
nodes, outputs = stats_nodes("logits", "targets", "pp/")
g = h.make_graph(nodes, "postproc",
                 [h.make_tensor_value_info("logits", T.FLOAT, ["N", "V"]), h.make_tensor_value_info("targets", T.INT64, ["N"])],
                 outputs)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
onnx.checker.check_model(m)
onnx.save(m, f"{out_dir}/postproc.onnx")

# 2. fused: model + keep-last-rows LM head + statistics
m = onnx.load(f"{model_dir}/onnx/model.onnx")
gr = m.graph
head = [n for n in gr.node if "logits" in n.output][0]
hidden, weight = head.input
gr.node.remove(head)
gr.input.append(h.make_tensor_value_info("keep", T.INT64, [1]))
gr.input.append(h.make_tensor_value_info("targets", T.INT64, ["batch_size", "keep_length"]))
extra = [
    h.make_node("Neg", ["keep"], ["fx/negkeep"]),
    h.make_node("Constant", [], ["fx/big"], value=h.make_tensor("fx/big_v", T.INT64, [1], [2**62])),
    h.make_node("Constant", [], ["fx/axis1"], value=h.make_tensor("fx/axis1_v", T.INT64, [1], [1])),
    h.make_node("Slice", [hidden, "fx/negkeep", "fx/big", "fx/axis1"], ["fx/hk"]),
    h.make_node("MatMul", ["fx/hk", weight], ["fx/logits3"]),
    h.make_node("Constant", [], ["fx/shape2"], value=h.make_tensor("fx/shape2_v", T.INT64, [2], [-1, 0])),
    # [B, keep, V] -> [B*keep, V]: Reshape with 0 copies V from... use Shape instead
    h.make_node("Shape", ["fx/logits3"], ["fx/s3"]),
    h.make_node("Constant", [], ["fx/two"], value=h.make_tensor("fx/two_v", T.INT64, [1], [2])),
    h.make_node("Gather", ["fx/s3", "fx/two"], ["fx/V"], axis=0),
    h.make_node("Constant", [], ["fx/m1"], value=h.make_tensor("fx/m1_v", T.INT64, [1], [-1])),
    h.make_node("Concat", ["fx/m1", "fx/V"], ["fx/shape"], axis=0),
    h.make_node("Reshape", ["fx/logits3", "fx/shape"], ["fx/logits2"]),
    h.make_node("Reshape", ["targets", "fx/m1"], ["fx/targets1"]),
]
nodes, outputs = stats_nodes("fx/logits2", "fx/targets1", "fx/pp/")
gr.node.extend(extra + nodes)
keep_outputs = [o for o in gr.output if o.name != "logits"]
del gr.output[:]
gr.output.extend(outputs + keep_outputs)
onnx.checker.check_model(m)
onnx.save(m, f"{out_dir}/fused.onnx")
print("wrote", out_dir)

# 3. compat: the fused graph that ALSO keeps the full `logits` output, with `keep` and
#    `targets` as inputs that have default values (initializers), so that a runtime that
#    does not know them (transformers.js) sees the usual decoder graph.
m = onnx.load(f"{out_dir}/fused.onnx")
gr = m.graph
gr.node.append(h.make_node("MatMul", [hidden, weight], ["logits"]))
gr.output.insert(0, h.make_tensor_value_info("logits", T.FLOAT, ["batch_size", "sequence_length", m.graph.initializer[0].dims[0]]))
gr.initializer.append(h.make_tensor("keep", T.INT64, [1], [1]))
gr.initializer.append(h.make_tensor("targets", T.INT64, [1, 1], [0]))
onnx.checker.check_model(m)
onnx.save(m, f"{out_dir}/compat.onnx")
print("wrote compat.onnx")

# 4. single: ONE graph for every runtime. `logits` is the LM head over the last `keep`
#    positions only ([B, keep, V]); `keep` defaults to "all positions" and `targets` to a
#    dummy, both as initializers listed among the inputs (overridable, hidden from
#    InferenceSession.inputNames), so transformers.js and today's engine see the usual
#    decoder graph while a runtime that feeds `keep`/`targets` gets the scored rows only and
#    the statistics. ORT runs every node whatever is fetched, so no second full LM head.
m = onnx.load(f"{out_dir}/fused.onnx")
gr = m.graph
for n in gr.node:
    for i, o in enumerate(n.output):
        if o == "fx/logits3":
            n.output[i] = "logits"
    for i, x in enumerate(n.input):
        if x == "fx/logits3":
            n.input[i] = "logits"
vocab = [i for i in gr.initializer if i.name == "model.wte.weight"][0].dims[0]
gr.output.insert(0, h.make_tensor_value_info("logits", T.FLOAT, ["batch_size", "keep_length", vocab]))
gr.initializer.append(h.make_tensor("keep", T.INT64, [1], [2**62]))
gr.initializer.append(h.make_tensor("targets", T.INT64, [1, 1], [0]))
onnx.checker.check_model(m)
onnx.save(m, f"{out_dir}/single.onnx")
print("wrote single.onnx")
