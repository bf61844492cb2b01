"""Transformer encoders: BERT-base/large (encoder stack only) and ViT-B/16.

Per encoder layer: Q, K, V and output projections are gemms over all
tokens; attention scores (Q K^T) and context (softmax(scores) V) are
matmuls with ``n`` = heads.  Softmax, residual adds and layer norms are
folded; layer-norm gains/biases, projection biases, embeddings and the
class token are counted in ``extra_params``.
"""

from __future__ import annotations

from objectives.workloads._layers import Model, ModelBuilder
from objectives.workloads._registry import register_model
from objectives.workloads.zoo._folded import conv_bias, gemm_bias, residual_output

Sources = tuple[int, ...]


def encoder_layer(b: ModelBuilder, name: str, x: Sources, *, tokens: int, hidden: int, heads: int, ffn: int) -> Sources:
    """One post-LN (BERT) / pre-LN (ViT) encoder layer; both have the same layers and edges."""
    head_dim = hidden // heads
    q = gemm_bias(b, f"{name}.q", k=hidden, c=hidden, y=tokens, after=x)
    k = gemm_bias(b, f"{name}.k", k=hidden, c=hidden, y=tokens, after=x)
    v = gemm_bias(b, f"{name}.v", k=hidden, c=hidden, y=tokens, after=x)
    scores = b.matmul(f"{name}.scores", n=heads, k=tokens, c=head_dim, y=tokens, after=(q, k))
    context = b.matmul(f"{name}.context", n=heads, k=head_dim, c=tokens, y=tokens, after=(scores, v))
    out = gemm_bias(b, f"{name}.out", k=hidden, c=hidden, y=tokens, after=context)
    attended = residual_output(out, x)
    ffn1 = gemm_bias(b, f"{name}.ffn1", k=ffn, c=hidden, y=tokens, after=attended)
    ffn2 = gemm_bias(b, f"{name}.ffn2", k=hidden, c=ffn, y=tokens, after=ffn1)
    b.extra_params += 2 * 2 * hidden  # two layer norms, gain and bias each
    return residual_output(ffn2, attended)


def bert_encoder(name: str, *, layers: int, hidden: int, heads: int, seq_len: int = 128) -> Model:
    """The encoder stack of BERT (Devlin et al. 2019): no embeddings, pooler or task head."""
    b = ModelBuilder(name)
    x: Sources = ()
    for i in range(layers):
        x = encoder_layer(b, f"layer{i}", x, tokens=seq_len, hidden=hidden, heads=heads, ffn=4 * hidden)
    return b.build()


@register_model("bert_base")
def bert_base() -> Model:
    return bert_encoder("bert_base", layers=12, hidden=768, heads=12)


@register_model("bert_large")
def bert_large() -> Model:
    return bert_encoder("bert_large", layers=24, hidden=1024, heads=16)


@register_model("vit_b16")
def vit_b16() -> Model:
    """Dosovitskiy et al. 2021, ViT-B/16 at 224x224: 196 patches + class token."""
    b = ModelBuilder("vit_b16")
    hidden, tokens = 768, 14 * 14 + 1
    x: Sources = (conv_bias(b, "patch_embed", k=hidden, c=3, y=14, r=16, stride=16),)
    b.extra_params += hidden + tokens * hidden  # class token, position embeddings
    for i in range(12):
        x = encoder_layer(b, f"layer{i}", x, tokens=tokens, hidden=hidden, heads=12, ffn=3072)
    b.extra_params += 2 * hidden  # final layer norm
    gemm_bias(b, "head", k=1000, c=hidden, after=x)  # reads the class token only
    return b.build()
