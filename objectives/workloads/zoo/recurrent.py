"""GNMT-style LSTM translation model (Wu et al. 2016, "Google's Neural Machine Translation System").

8 encoder layers (the first bidirectional) and 8 decoder layers of 1024
units, residual connections from the third layer up, additive attention
whose context feeds every decoder layer, and a 32k-wordpiece vocabulary.
Each ``lstm`` layer covers the whole sequence (its four gate GEMMs over
``steps`` time steps); the decoder is counted as if teacher-forced, one
step per target token, which is what greedy decoding computes too.

The paper publishes no per-sentence sequence length; we use 32 wordpieces
for source and target, a typical WMT'14 newstest sentence.
"""

from __future__ import annotations

from objectives.workloads._layers import Model, ModelBuilder
from objectives.workloads._registry import register_model
from objectives.workloads.zoo._folded import gemm_bias

HIDDEN = 1024
VOCAB = 32_000
SEQ_LEN = 32


def _lstm(b: ModelBuilder, name: str, *, inputs: int, steps: int, after) -> int:
    index = b.lstm(name, hidden=HIDDEN, inputs=inputs, steps=steps, after=after)
    b.extra_params += 4 * HIDDEN  # gate biases
    return index


def gnmt_model(name: str = "gnmt", *, layers: int = 8, src_len: int = SEQ_LEN, tgt_len: int = SEQ_LEN) -> Model:
    b = ModelBuilder(name)
    b.extra_params += 2 * VOCAB * HIDDEN  # source and target embeddings

    forward = _lstm(b, "enc0.fw", inputs=HIDDEN, steps=src_len, after=())
    backward = _lstm(b, "enc0.bw", inputs=HIDDEN, steps=src_len, after=())
    enc = [_lstm(b, "enc1", inputs=2 * HIDDEN, steps=src_len, after=(forward, backward))]
    for i in range(2, layers):
        # Residual adds start where input and output widths agree (above the 2048-wide enc1 input).
        after = (enc[-1], enc[-2]) if len(enc) >= 2 else enc[-1]
        enc.append(_lstm(b, f"enc{i}", inputs=HIDDEN, steps=src_len, after=after))
    memory = (enc[-1], enc[-2])

    keys = b.gemm("attention.keys", k=HIDDEN, c=HIDDEN, y=src_len, after=memory)
    # The bottom decoder layer reads the embedding and the previous step's context.
    dec = [_lstm(b, "dec0", inputs=2 * HIDDEN, steps=tgt_len, after=memory)]
    query = b.gemm("attention.query", k=HIDDEN, c=HIDDEN, y=tgt_len, after=dec[0])
    # Additive (Bahdanau) scores cost one HIDDEN-long dot per (target, source) pair.
    scores = b.matmul("attention.scores", k=src_len, c=HIDDEN, y=tgt_len, after=(query, keys))
    context = b.matmul("attention.context", k=HIDDEN, c=src_len, y=tgt_len, after=(scores, *memory))
    b.extra_params += HIDDEN + 1  # score vector v and its normalisation scale
    for i in range(1, layers):
        after = (dec[-1], context) if i < 2 else (dec[-1], dec[-2], context)
        dec.append(_lstm(b, f"dec{i}", inputs=2 * HIDDEN, steps=tgt_len, after=after))
    gemm_bias(b, "softmax", k=VOCAB, c=HIDDEN, y=tgt_len, after=(dec[-1], dec[-2]))
    return b.build()


@register_model("gnmt")
def gnmt() -> Model:
    return gnmt_model()
