"""Write a small ONNX model with a dynamic batch: conv-bn-relu, a residual block, pooling, a classifier.

    python experiments/custom/make_onnx_example.py /tmp/tiny_resnet.onnx

Needs the optional extra (pip install onnx); the weights are zeros, only shapes matter here.
"""

import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

nodes, weights = [], []


def weight(name, *shape):
    weights.append(numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name))
    return name


def conv_bn_relu(x, name, k, c, r, stride=1, relu=True):
    nodes.append(helper.make_node("Conv", [x, weight(f"{name}.w", k, c, r, r)], [f"{name}.conv"], name=name,
                                  kernel_shape=[r, r], strides=[stride, stride], pads=[r // 2] * 4))
    bn = [weight(f"{name}.bn.{p}", k) for p in ("scale", "bias", "mean", "var")]
    nodes.append(helper.make_node("BatchNormalization", [f"{name}.conv", *bn], [f"{name}.bn"], name=f"{name}.bn"))
    if not relu:
        return f"{name}.bn"
    nodes.append(helper.make_node("Relu", [f"{name}.bn"], [f"{name}.out"], name=f"{name}.relu"))
    return f"{name}.out"


x = conv_bn_relu("image", "stem", 32, 3, 3, stride=2)
nodes.append(helper.make_node("MaxPool", [x], ["pool"], name="pool", kernel_shape=[2, 2], strides=[2, 2]))
y = conv_bn_relu(conv_bn_relu("pool", "block.conv1", 32, 32, 3), "block.conv2", 32, 32, 3, relu=False)
nodes.append(helper.make_node("Add", [y, "pool"], ["block.add"], name="block.add"))
nodes.append(helper.make_node("Relu", ["block.add"], ["block.out"], name="block.relu"))
nodes.append(helper.make_node("GlobalAveragePool", ["block.out"], ["gap"], name="gap"))
nodes.append(helper.make_node("Flatten", ["gap"], ["features"], name="flatten"))
nodes.append(helper.make_node("Gemm", ["features", weight("fc.w", 10, 32), weight("fc.b", 10)], ["logits"],
                              name="fc", transB=1))
graph = helper.make_graph(
    nodes, "tiny_resnet",
    [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 64, 64])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
    initializer=weights,
)
path = sys.argv[1] if len(sys.argv) > 1 else "tiny_resnet.onnx"
save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
print(f"wrote {path}: {len(nodes)} nodes, input image [batch, 3, 64, 64]")
