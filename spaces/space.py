"""The unified search space: the unit cube [0, 1]^d ↔ batches of designs.

Full gene layout (before restriction), C = ``max_cores``, L = layers:

====================  ===========  =============================================
gene                  kind         decodes to
====================  ===========  =============================================
``cores``             integer      active cores 1…C (the first n slots)
``core{c}.size``      categorical  rank in the size menu (smallest first)
``core{c}.dataflow``  categorical  index into ``Space.dataflows``
``core{c}.bw_share``  continuous   bandwidth weight ``ratio ** (u − 0.5)``
``core{c}.buffer_share`` continuous buffer weight, likewise
mapping genes         …            see ``spaces.mapping`` (mode dependent)
====================  ===========  =============================================

Shares are normalised over the active cores (they sum to 1).  A design over
budget is repaired by the rule in ``spaces.architecture``.  A *restriction*
fixes genes to values or ties them to another gene; the named spaces
(``spaces.named``) are restrictions of this one, and their ``genes``/``dim``
list only the free genes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from spaces import design as codes
from spaces.architecture import repair, size_menu
from spaces.design import DesignBatch
from spaces.design_view import Design, batch_to_designs, compact_cores, designs_to_batch
from spaces.genes import Gene, bin_centre, bin_index, share_from_unit, share_to_unit
from spaces.hardware import Platform, get_dataflow
from spaces.mapping import MappingCodec
from spaces.workload import WorkloadShape

DEFAULT_MAPPING = "greedy"
SHARE_RATIO = 16.0
"""Largest ratio between two active cores' bandwidth (or buffer) shares."""


class Space:
    """Genes, and a vectorized ``decode`` from unit points to a ``DesignBatch``.

    Options: ``max_cores`` (default ``platform.max_cores``), ``sizes`` (names
    from ``platform.core_sizes``; default every size that fits),
    ``dataflows`` (names; default ``platform.dataflows``), ``mapping`` (one of
    ``spaces.mapping.MAPPING_MODES``), ``greedy_switch`` (layer/model modes
    carry a gene that selects the greedy mapper), ``bias_scale`` (biased mode).
    """

    def __init__(
        self,
        workload: WorkloadShape,
        platform: Platform,
        *,
        max_cores: int | None = None,
        sizes: Sequence[str] | None = None,
        dataflows: Sequence[str] | None = None,
        mapping: str = DEFAULT_MAPPING,
        greedy_switch: bool = True,
        bias_scale: float = 2.0,
        name: str = "cosearch",
    ):
        max_cores = platform.max_cores if max_cores is None else max_cores
        if isinstance(max_cores, bool) or not isinstance(max_cores, (int, np.integer)) or max_cores < 1:
            raise ValueError(f"option max_cores: must be an integer >= 1, got {max_cores!r}")
        if isinstance(dataflows, str) or (dataflows is not None and not len(dataflows)):
            raise ValueError(f"option dataflows: expected a non-empty list of dataflow names, got {dataflows!r}")
        dataflows = tuple(platform.dataflows if dataflows is None else dataflows)
        for df in dataflows:
            try:
                get_dataflow(df)
            except ValueError as e:
                raise ValueError(f"option dataflows: {e}") from None
        self.name = name
        self.workload = workload
        self.platform = platform
        self.max_cores = C = int(max_cores)
        self.menu = size_menu(platform, sizes)
        self.dataflow_names = tuple(dict.fromkeys(dataflows))
        self.dataflows = tuple(get_dataflow(df) for df in self.dataflow_names)
        self.mapping = MappingCodec(mapping, workload, platform, C, greedy_switch=greedy_switch, bias_scale=bias_scale)
        full = [Gene(name="cores", kind="integer", low=1, high=C, description="number of active cores")]
        for c in range(C):
            full += [
                Gene(name=f"core{c}.size", kind="categorical", choices=self.menu.names),
                Gene(name=f"core{c}.dataflow", kind="categorical", choices=self.dataflow_names),
                Gene(name=f"core{c}.bw_share", kind="continuous", description="bandwidth weight, 0.5 = even"),
                Gene(name=f"core{c}.buffer_share", kind="continuous", description="buffer weight, 0.5 = even"),
            ]
        self._arch_width = len(full)
        self.full_genes: tuple[Gene, ...] = tuple(full) + self.mapping.genes
        self._index = {g.name: i for i, g in enumerate(self.full_genes)}
        self._fixed: dict[int, float] = {}
        self._tied: dict[int, int] = {}
        self._refresh()

    # -- restriction -------------------------------------------------------

    def restrict(self, *, fixed: Mapping[str, object] | None = None, tied: Mapping[str, str] | None = None,
                 name: str | None = None) -> "Space":
        """A copy with genes fixed to values (in the gene's own units) or tied to another gene.

        ``fixed={"cores": 2, "core0.dataflow": "ws_kc"}``; ``tied={"core1.size":
        "core0.size"}`` makes core 1 always take core 0's size.
        """
        space = object.__new__(Space)
        space.__dict__.update(self.__dict__)
        space._fixed, space._tied = dict(self._fixed), dict(self._tied)
        space.name = self.name if name is None else name
        fixed, tied = fixed or {}, tied or {}
        for gene_name, value in fixed.items():
            i = self._gene_index(gene_name, "fixed")
            try:
                space._fixed[i] = self.full_genes[i].from_value(value)
            except ValueError as e:
                raise ValueError(f"option fixed: {e}") from None
            space._tied.pop(i, None)
        for gene_name, source in tied.items():
            i, j = self._gene_index(gene_name, "tied"), self._gene_index(source, "tied")
            while j in space._tied:
                j = space._tied[j]
            a, b = self.full_genes[i], self.full_genes[j]
            if (a.kind, a.choices, a.low, a.high) != (b.kind, b.choices, b.low, b.high):
                raise ValueError(f"option tied: gene {gene_name!r} cannot follow {source!r}: different kinds or choices")
            if i != j:
                space._tied[i] = j
                space._fixed.pop(i, None)
        space._refresh()
        return space

    def _gene_index(self, gene_name: str, option: str) -> int:
        if gene_name not in self._index:
            sample = ", ".join(g.name for g in self.full_genes[: self._arch_width])
            raise ValueError(f"option {option}: unknown gene {gene_name!r} (architecture genes: {sample}; then mapping genes)")
        return self._index[gene_name]

    def _refresh(self) -> None:
        D = len(self.full_genes)
        roots = np.arange(D)
        for i, j in self._tied.items():
            roots[i] = j
        for _ in range(D):
            if (roots[roots] == roots).all():
                break
            roots = roots[roots]
        constant = np.zeros(D, dtype=bool)
        constant[list(self._fixed)] = True
        constant |= constant[roots]
        self._roots = roots
        self._free = np.flatnonzero(~constant & (roots == np.arange(D)))
        self._fixed_values = np.full(D, 0.5)
        for i, u in self._fixed.items():
            self._fixed_values[i] = u
        self._fixed_values = self._fixed_values[roots]
        self._constant = constant
        self.genes: tuple[Gene, ...] = tuple(self.full_genes[i] for i in self._free)
        size_root = roots[[self._index[f"core{c}.size"] for c in range(self.max_cores)]]
        self._shrinkable = ~constant[size_root]
        self._cores_fixed = bool(constant[0])
        self._check_smallest_fits()

    def _check_smallest_fits(self) -> None:
        U = np.where(self._constant, self._fixed_values, 0.0)[None]
        U[0, self._index["cores"]] = self._fixed_values[0] if self._cores_fixed else 0.0
        n = 1 + int(bin_index(U[0, 0], self.max_cores))
        ranks = [0 if self._shrinkable[c] else int(bin_index(U[0, self._index[f"core{c}.size"]], len(self.menu)))
                 for c in range(n)]
        if not self.menu.fits(ranks):
            names = ", ".join(self.menu.names[r] for r in ranks)
            raise ValueError(f"space {self.name!r}: the smallest design ({names}) does not fit platform "
                             f"{self.platform.name!r}; fewer cores or smaller sizes are needed")

    @property
    def dim(self) -> int:
        return len(self._free)

    @property
    def fixed(self) -> dict[str, object]:
        """Fixed genes and their values (tied genes excluded)."""
        return {self.full_genes[i].name: self.full_genes[i].to_value(u) for i, u in self._fixed.items()}

    def __repr__(self) -> str:
        return (f"Space({self.name!r}, dim={self.dim}, cores<={self.max_cores}, sizes={list(self.menu.names)}, "
                f"dataflows={list(self.dataflow_names)}, mapping={self.mapping.mode!r})")

    # -- decode / encode -----------------------------------------------------

    def full(self, X) -> np.ndarray:
        """``(P, d)`` free coordinates → ``(P, D)`` all genes, fixed and tied ones filled in."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1 and X.shape[0] == self.dim:
            X = X[None]
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"space {self.name!r}: X has shape {X.shape}, expected (P, {self.dim})")
        U = np.broadcast_to(self._fixed_values, (X.shape[0], len(self.full_genes))).copy()
        U[:, self._free] = X
        return U[:, self._roots]

    def decode(self, X) -> DesignBatch:
        """``(P, d)`` points in [0, 1] → a ``DesignBatch`` of P designs.

        Values outside [0, 1] are clipped; a row with NaN or inf decodes with
        0.5 in their place and carries ``decode_reason = NON_FINITE``.
        """
        U = self.full(X)
        finite = np.isfinite(U).all(axis=1)
        U = np.where(np.isfinite(U), np.clip(U, 0.0, 1.0), 0.5)
        P, C = U.shape[0], self.max_cores
        cols = lambda field: U[:, [self._index[f"core{c}.{field}"] for c in range(C)]]  # noqa: E731
        count = 1 + bin_index(U[:, 0], C)
        active = np.arange(C) < count[:, None]
        rank, active, reason = repair(
            bin_index(cols("size"), len(self.menu)), active, self.menu, shrinkable=self._shrinkable,
            can_drop_cores=not self._cores_fixed, fpga=self.platform.kind == "fpga",
        )
        dataflow = bin_index(cols("dataflow"), len(self.dataflows))
        layer_core, priority, bias = self.mapping.decode(U[:, self._arch_width:], active.sum(axis=1), active)
        reason[~finite] = codes.NON_FINITE
        return DesignBatch(
            core_pes=np.where(active, self.menu.pes[rank], 0),
            core_size=np.where(active, self.menu.platform_index[rank], -1),
            core_dataflow=np.where(active, dataflow, 0),
            bw_share=share_from_unit(cols("bw_share"), active, SHARE_RATIO),
            buffer_share=share_from_unit(cols("buffer_share"), active, SHARE_RATIO),
            layer_core=layer_core,
            layer_priority=priority,
            dataflows=self.dataflows,
            mapping_bias=bias,
            decode_reason=reason,
        )

    def encode(self, designs, *, check: bool = True) -> np.ndarray:
        """A ``DesignBatch``, a ``Design`` or a list of them → ``(P, d)`` points.

        ``decode(encode(d))`` gives ``d`` back (exactly for discrete genes, to
        rounding for shares and keys).  With ``check`` a design this space
        cannot express (a fixed gene differs, a size not on the menu, an
        explicit mapping in a greedy space) is a ``ValueError`` naming it.
        """
        batch = self._as_batch(designs)
        if batch.num_layers != self.mapping.num_layers:
            raise ValueError(f"space {self.name!r}: designs map {batch.num_layers} layers, the workload has "
                             f"{self.mapping.num_layers}")
        canonical = compact_cores(batch, self.max_cores, self.name)
        P, C = canonical.num_designs, self.max_cores
        active = canonical.core_pes > 0
        count = active.sum(axis=1)
        rank = self._size_ranks(canonical, active)
        dataflow = self._dataflow_indices(canonical, active)
        U = np.empty((P, len(self.full_genes)))
        U[:, 0] = bin_centre(np.maximum(count, 1) - 1, C)
        put = lambda field, values: U.__setitem__(  # noqa: E731
            (slice(None), [self._index[f"core{c}.{field}"] for c in range(C)]), values)
        put("size", bin_centre(rank, len(self.menu)))
        put("dataflow", bin_centre(dataflow, len(self.dataflows)))
        put("bw_share", share_to_unit(canonical.bw_share, active, SHARE_RATIO))
        put("buffer_share", share_to_unit(canonical.buffer_share, active, SHARE_RATIO))
        U[:, self._arch_width:] = self.mapping.encode(
            canonical.layer_core, canonical.layer_priority, canonical.mapping_bias, active)
        X = U[:, self._free]
        if check:
            self._check_round_trip(canonical, self.decode(X))
        return X

    def _as_batch(self, designs) -> DesignBatch:
        if isinstance(designs, DesignBatch):
            return designs
        if isinstance(designs, Design):
            designs = [designs]
        return designs_to_batch(list(designs), self.platform, num_cores=self.max_cores, dataflows=self.dataflows)

    def _size_ranks(self, batch: DesignBatch, active: np.ndarray) -> np.ndarray:
        lookup = np.full(len(self.platform.core_sizes) + 1, -1)
        lookup[self.menu.platform_index] = np.arange(len(self.menu))
        rank = lookup[np.where(batch.core_size >= 0, batch.core_size, len(self.platform.core_sizes))]
        by_pes = np.searchsorted(self.menu.pes, batch.core_pes)
        matches = (by_pes < len(self.menu)) & (self.menu.pes[np.minimum(by_pes, len(self.menu) - 1)] == batch.core_pes)
        rank = np.where((batch.core_size < 0) & matches, by_pes, rank)
        bad = active & (rank < 0)
        if bad.any():
            p, c = np.argwhere(bad)[0]
            raise ValueError(f"space {self.name!r}: design {p} core {c} ({batch.core_pes[p, c]} PEs) is not a "
                             f"menu size (allowed: {', '.join(self.menu.names)})")
        return np.where(active, rank, 0)

    def _dataflow_indices(self, batch: DesignBatch, active: np.ndarray) -> np.ndarray:
        lookup = []
        for df in batch.dataflows:
            lookup.append(self.dataflow_names.index(df.name) if df.name in self.dataflow_names else -1)
        index = np.asarray(lookup, dtype=np.int64)[batch.core_dataflow]
        bad = active & (index < 0)
        if bad.any():
            p, c = np.argwhere(bad)[0]
            name = batch.dataflows[batch.core_dataflow[p, c]].name
            raise ValueError(f"space {self.name!r}: design {p} core {c} uses dataflow {name!r} "
                             f"(allowed: {', '.join(self.dataflow_names)})")
        return np.where(active, index, 0)

    def _check_round_trip(self, want: DesignBatch, got: DesignBatch) -> None:
        active = want.core_pes > 0
        same_df = np.array([d.name for d in want.dataflows])[want.core_dataflow] == \
            np.array(self.dataflow_names)[got.core_dataflow]
        checks = {
            "core sizes": ~(got.core_pes == want.core_pes).all(axis=1),
            "core size names": ~np.where(active & (want.core_size >= 0), got.core_size == want.core_size, True).all(axis=1),
            "dataflows": ~np.where(active, same_df, True).all(axis=1),
            "bandwidth shares": ~np.isclose(got.bw_share, want.bw_share, rtol=1e-9, atol=1e-12).all(axis=1),
            "buffer shares": ~np.isclose(got.buffer_share, want.buffer_share, rtol=1e-9, atol=1e-12).all(axis=1),
            "layer mapping": ~(got.layer_core == want.layer_core).all(axis=1),
        }
        if got.layer_priority is not None and want.layer_priority is not None:
            checks["priorities"] = ~np.isclose(got.layer_priority, want.layer_priority, atol=1e-9).all(axis=1)
        elif want.layer_priority is not None:
            default = np.broadcast_to(self.mapping.default_priority, want.layer_priority.shape)
            checks["priorities"] = ~np.isclose(want.layer_priority, default, atol=1e-9).all(axis=1)
        if got.mapping_bias is not None and want.mapping_bias is not None:
            checks["mapping bias"] = ~np.isclose(got.mapping_bias, want.mapping_bias, rtol=1e-9, atol=1e-15).all(axis=(1, 2))
        elif want.mapping_bias is not None and np.any(want.mapping_bias != 0):
            checks["mapping bias"] = (want.mapping_bias != 0).any(axis=(1, 2))
        for what, wrong in checks.items():
            if wrong.any():
                p = int(np.flatnonzero(wrong)[0])
                raise ValueError(f"space {self.name!r} cannot express design {p}: its {what} differ from what the "
                                 f"space allows (mapping {self.mapping.mode!r}, fixed genes {self.fixed})")

    # -- sampling and enumeration -----------------------------------------

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``(n, d)`` uniform points of the unit cube."""
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        return rng.random((int(n), self.dim))

    # -- readable views ------------------------------------------------------

    def designs(self, X) -> list[Design]:
        """Decoded points as readable ``Design`` views."""
        return batch_to_designs(self.decode(X), self.platform)
