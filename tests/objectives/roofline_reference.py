"""The evaluator's roofline, greedy latency table and scoring as they were
before the compiled kernels of ``objectives.roofline``: numpy gathers over
``(P, L)``, a ``(P, C, L)`` table, two list schedules and numpy reductions.
Kept only as the reference the kernels must match bit for bit
(``test_roofline_kernels.py``); same signatures, so a test can swap them
into the evaluator.
"""

import numpy as np

from objectives import mapper, metrics, roofline, schedule


def greedy_assign(times, core_block, core_dram_bw, core_noc_bw, core_active, order, preds, bias_s):
    P, C = core_block.shape
    L = order.shape[1]
    # (P, C, L) latency of every layer on every core, inputs from DRAM.
    block_all = core_block.reshape(-1, 1) + np.arange(L)
    compute, edge, steady, noc = (np.take(field, block_all) for field in times)
    dram_bw = core_dram_bw.reshape(-1, 1).astype(np.float32)
    noc_bw = core_noc_bw.reshape(-1, 1).astype(np.float32)
    latency_all = edge / dram_bw + np.maximum(compute, np.maximum(steady / dram_bw, noc / noc_bw))
    return schedule.greedy_assign(latency_all.reshape(P, C, L), core_active, order, preds, bias_s)


def layer_roofline(rows, core_block, core_dram_bw, core_noc_bw, core_buffer, layer_core, preds, input_bytes,
                   saved_pj_per_byte, clock_hz):  # fmt: skip
    P, C = core_block.shape
    L = layer_core.shape[1]
    slot = np.arange(P)[:, None] * C + layer_core  # flat (P, C) index of each layer's core
    buffer = core_buffer.ravel()[slot]
    first_pred = preds[:, 0]
    single_pred = (first_pred >= 0) & ((preds[:, 1:] < 0).all(axis=1))
    same_core = layer_core == layer_core[:, np.maximum(first_pred, 0)]
    input_on_chip = single_pred & same_core & (input_bytes <= buffer)
    index = core_block.ravel()[slot] + np.arange(L)
    compute, dram, dram_input, edge, edge_input, noc, dynamic, util = (np.take(c, index) for c in rows.T)
    on_chip = input_on_chip.astype(np.float64)
    dram = dram - on_chip * dram_input
    edge = edge - on_chip * edge_input
    dynamic = dynamic - on_chip * dram_input * saved_pj_per_byte
    dram_bw, noc_bw = core_dram_bw.ravel()[slot], core_noc_bw.ravel()[slot]
    cycles = mapper.latency_cycles(compute, dram, edge, noc, dram_bw / clock_hz, noc_bw / clock_hz)
    return cycles / clock_hz, dram, dynamic, util


def score(rows, core_block, core_dram_bw, core_noc_bw, core_buffer, layer_core, order, preds, transfer_s, input_bytes,
          saved_pj_per_byte, clock_hz, macs, model, num_models, instance, starts):  # fmt: skip
    latency, dram, dynamic, util = layer_roofline(rows, core_block, core_dram_bw, core_noc_bw, core_buffer, layer_core,
                                                  preds, input_bytes, saved_pj_per_byte, clock_hz)  # fmt: skip
    C = core_block.shape[1]
    timing = schedule.list_schedule(latency, layer_core, order, preds, transfer_s, C)
    alone = schedule.list_schedule(latency, instance * C + layer_core, order, preds, transfer_s, C * len(starts))
    return roofline.Scored(
        latency_s=latency,
        finish_s=timing.finish_s,
        makespan_s=timing.makespan_s,
        dram_bytes=metrics.row_total(dram),
        dynamic_pj=metrics.row_total(dynamic),
        mac_slots=metrics.row_total(macs / util),
        model_finish_s=metrics.per_model_max(timing.finish_s, model, num_models),
        instance_shared_s=metrics.per_block_max(timing.finish_s, starts),
        instance_alone_s=metrics.per_block_max(alone.finish_s, starts),
    )
