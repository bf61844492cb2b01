"""Re-mapping a design found for one mix onto another: its cores kept, its layer mapping carried over.

A design's hardware (cores, sizes, dataflows, shares) does not depend on the
mix; its mapping does (``layer_core`` has one entry per layer of the mix it
was searched on).  ``remap(design, old, new, platform)`` gives the same cores
a mapping of the ``new`` workload:

* a greedy design (every layer −1; ``biased`` ones too) stays greedy: Herald's
  best fit maps the new mix (a bias per layer cannot carry over and is dropped);
* an explicit design (``model`` or ``layer`` mapping) keeps, for every layer
  of a model both mixes hold, the core the old mapping gave the same layer of
  the same model (an instance beyond the old batch count takes the last old
  instance's); layers of models the old mix lacks take the core the greedy
  mapper picks for them on these cores.  Priorities carry over the same way;
  new layers take the default key.
"""

from __future__ import annotations

import numpy as np

from spaces import Design


def remap(design: Design, old, new, platform) -> Design:
    """``design`` (mapping ``old``'s layers) with a mapping of workload ``new``'s layers."""
    if len(design.layer_core) != old.num_layers:
        raise ValueError(f"the design maps {len(design.layer_core)} layers but its recorded workload "
                         f"{old.name!r} has {old.num_layers}")
    if design.is_greedy:
        return Design(cores=design.cores, layer_core=(-1,) * new.num_layers)
    source = matching_layers(old, new)  # (L_new,) old layer or −1
    old_core = np.asarray(design.layer_core, dtype=np.int64)
    layer_core = np.where(source >= 0, old_core[np.maximum(source, 0)], -1)
    if (layer_core < 0).any():  # layers of new models: where the greedy mapper puts them on these cores
        layer_core = np.where(layer_core >= 0, layer_core, greedy_mapping(design, new, platform))
    priority = None
    if design.layer_priority is not None:
        old_priority = np.asarray(design.layer_priority, dtype=np.float64)
        priority = tuple(np.where(source >= 0, old_priority[np.maximum(source, 0)], new.default_priority).tolist())
    return Design(cores=design.cores, layer_core=tuple(int(c) for c in layer_core), layer_priority=priority)


def matching_layers(old, new) -> np.ndarray:
    """``(L_new,)`` the index of the same layer (model name, instance, position) in ``old``, or −1.

    An instance the old mix lacks (a larger batch) matches the old mix's last instance of that model.
    """
    index = {(old.model_names[m], int(i), int(k)): l
             for l, (m, i, k) in enumerate(zip(old.model, old.instance, old.layer_index))}
    last_instance = {old.model_names[m]: int(b) - 1 for m, b in enumerate(old.batch)}
    out = np.full(new.num_layers, -1, dtype=np.int64)
    for l, (m, i, k) in enumerate(zip(new.model, new.instance, new.layer_index)):
        name = new.model_names[m]
        if name in last_instance:
            out[l] = index.get((name, min(int(i), last_instance[name]), int(k)), -1)
    return out


def greedy_mapping(design: Design, workload, platform) -> np.ndarray:
    """``(L,)`` the cores Herald's greedy mapper gives ``workload``'s layers on ``design``'s cores."""
    from objectives import evaluate

    greedy = Design(cores=design.cores, layer_core=(-1,) * workload.num_layers)
    return np.asarray(evaluate(greedy.to_batch(platform), workload, platform).layer_core[0], dtype=np.int64)
