"""User-defined dataflows and platforms, from YAML data.

A dataflow is its unrolled loop dims and stationary operand, optionally
with a systolic fill/drain and caps on some extents::

    {name: ws_ky, unrolled: [K, Y], stationary: weight, fill_drain: false, max_extents: {Y: 16}}

A platform names every field of :class:`spaces.hardware.Platform`, or starts
from a preset with ``base: <preset>`` and lists only what changes.  The same
schema, :class:`PlatformSpec`, reads an experiment config's ``platform``
section (``cosearch.config_targets.PlatformConfig`` adds a platform ``file``
as a base), so a key means and is refused the same everywhere::

    name: edge_2x
    base: edge
    pes: 2048                 # an ASIC base's power-of-two menu follows pes
    bw_gbps: 32
    buffer_bytes: 8 MiB       # bytes, or "<number> B|KiB|MiB|GiB|kB|MB|GB"
    energy: {dram_pj_per_byte: 30}   # merged with the base's table
    core_sizes: [PE256, PE1024, B1024, {name: wide, pes: 512, unroll: {K: 32, C: 16}}]
    dataflows: [ws_kc, os_yx, {name: ws_ky, unrolled: [K, Y], stationary: weight}]

Without ``base``: ``name`` (default: the file's stem), ``kind``, ``bw_gbps``,
``buffer_bytes``, ``clock_hz`` and ``core_sizes`` are required, plus ``pes``
(ASIC) or ``dsp``, ``lut`` and ``bram36`` (FPGA; ``uram`` defaults to 0, a
device without UltraRAM); ``noc_gbps`` defaults to 8 x ``bw_gbps``, the
energy/static tables to the kind's defaults.  An FPGA's ``max_cores``
defaults to how many of its most numerous core size fit its DSP, LUT,
BRAM36 and UltraRAM budgets, its ``pes`` to ``max_cores`` x its largest
core.  A core size is a mapping (``name``, ``pes``, FPGA cost
``dsp``/``lut``/``bram36``/``uram``, optional fixed ``unroll`` extents whose
product is ``pes``, optional own ``clock_hz``) or the name of a DPU core
(``B512`` ... ``B4096``: with its UltraRAM banks on a platform with
UltraRAM, all in BRAM36 otherwise) or of a power-of-two ASIC core
(``PE<n>``).  ``stock_dataflows`` lists, among ``dataflows``, those the
board's stock cores run (the homogeneous baseline's menu).
Dataflows declared in a platform are registered in
:data:`spaces.hardware.DATAFLOWS` (the registry designs and spaces look
names up in) when the platform is built; a name already registered with
another definition is refused.

Every problem is a :class:`DefinitionError` whose lines read
``source: dotted.key: message (allowed: ...)``.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeFloat,
    StrictBool,
    Tag,
    ValidationError,
    create_model,
)

from spaces import userfiles
from spaces.hardware import (
    ASIC_ENERGY,
    ASIC_STATIC,
    DATAFLOWS,
    DPU_CORES,
    DPU_CORES_URAM,
    FPGA_ENERGY,
    FPGA_RESOURCES,
    FPGA_STATIC,
    LOOP_DIMS,
    MAPPING_OBJECTIVES,
    MAX_BUFFER_BYTES,
    MAX_BW_GBPS,
    MAX_CLOCK_HZ,
    MAX_CORES,
    MAX_FPGA_RESOURCE,
    MAX_MENU,
    MAX_PES,
    MAX_SETUP_CYCLES,
    MAX_WORD_BYTES,
    PLATFORMS,
    STATIONARY,
    AreaTable,
    CoreSize,
    Dataflow,
    EnergyTable,
    Platform,
    StaticPower,
    budget_menu,
    fpga_max_cores,
    pe_multiple_cores,
)

KINDS = ("asic", "fpga")
_UNITS = {"b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "kb": 10**3, "mb": 10**6, "gb": 10**9}


class DefinitionError(ValueError):
    """Problems in a user definition, each a ``(dotted key, message)`` pair."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = [(key, _clipped(message)) for key, message in problems]
        super().__init__("\n".join(f"{source}: {key}: {message}" if key else f"{source}: {message}"
                                   for key, message in self.problems))


MAX_MESSAGE = 2000
"""Characters of one problem's message: a value quoted whole (a 1 MiB name) is cut."""


def _clipped(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else f"{message[:MAX_MESSAGE - 40]} … ({len(message):,} characters)"


def _loop_dim(value: Any) -> str:
    if value not in LOOP_DIMS:
        raise ValueError(f"{value!r} is not a loop dim (allowed: {', '.join(LOOP_DIMS)})")
    return value


def _axis(value: Any) -> Any:
    """An unrolled entry: a loop dim, or a list of the dims one array axis may unroll, main dim first."""
    if isinstance(value, str):
        return _loop_dim(value)
    if isinstance(value, list) and value and all(isinstance(d, str) for d in value):
        for dim in value:
            _loop_dim(dim)
        return value
    raise ValueError(f"{value!r} is not an array axis (allowed: a loop dim, or a list of dims sharing an axis, "
                     "e.g. [X, Y, N] or [K, G])")


def _one_of(allowed: tuple[str, ...], what: str):
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not {what} (allowed: {', '.join(allowed)})")
        return value

    return check


def _byte_count(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]+)?\s*", value) if isinstance(value, str) else None
    if match and (match.group(2) or "b").lower() in _UNITS:
        count = float(match.group(1)) * _UNITS[(match.group(2) or "b").lower()]
        if count >= 1 and count.is_integer():
            return int(count)
    raise ValueError(f"{value!r} is not a size (allowed: a positive integer of bytes or "
                     "'<number> B|KiB|MiB|GiB|kB|MB|GB')")


# The bounds of spaces.hardware.PLATFORM_LIMITS as field types: a key out of bounds is named with its limit.
PeCount = Annotated[int, Field(gt=0, le=MAX_PES)]
Bandwidth = Annotated[float, Field(gt=0, le=MAX_BW_GBPS)]
ClockHz = Annotated[float, Field(gt=0, le=MAX_CLOCK_HZ)]
CoreCount = Annotated[int, Field(gt=0, le=MAX_CORES)]
WordBytes = Annotated[int, Field(gt=0, le=MAX_WORD_BYTES)]
SetupCycles = Annotated[int, Field(ge=0, le=MAX_SETUP_CYCLES)]
FpgaResource = Annotated[float, Field(gt=0, le=MAX_FPGA_RESOURCE)]
BufferBytes = Annotated[int, Field(gt=0, le=MAX_BUFFER_BYTES)]

LoopDim = Annotated[str, BeforeValidator(_loop_dim)]
Bytes = Annotated[BufferBytes, BeforeValidator(_byte_count)]
Name = Annotated[str, Field(min_length=1)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DataflowSpec(_Spec):
    name: Name
    unrolled: list[Annotated[Any, BeforeValidator(_axis)]] = Field(min_length=1)
    stationary: Annotated[str, BeforeValidator(_one_of(STATIONARY, "a stationary operand"))]
    fill_drain: StrictBool = False
    max_extents: dict[LoopDim, PeCount] = {}
    rf_operands: list[Annotated[str, BeforeValidator(_one_of(STATIONARY, "an operand"))]] = Field(
        list(STATIONARY), min_length=1)
    description: str = ""

    @property
    def main_dims(self) -> list[str]:
        return [axis if isinstance(axis, str) else axis[0] for axis in self.unrolled]

    def build(self) -> Dataflow:
        shared = any(isinstance(axis, list) for axis in self.unrolled)
        axes = tuple((a,) if isinstance(a, str) else tuple(a) for a in self.unrolled) if shared else ()
        return Dataflow(name=self.name, unrolled=tuple(self.main_dims), stationary=self.stationary,
                        fill_drain=self.fill_drain, max_extents=tuple(self.max_extents.items()),
                        axes=axes, rf_operands=tuple(self.rf_operands), description=self.description)


def _core_by_name(value: Any) -> Any:
    """A core size written as a name: a DPU core or ``PE<n>``."""
    if not isinstance(value, str):
        return value
    for core in DPU_CORES:
        if core.name == value:
            return {"name": core.name, "pes": core.pes, "dsp": core.dsp, "lut": core.lut, "bram36": core.bram36,
                    "uram": core.uram, "unroll": dict(core.unroll)}
    match = re.fullmatch(r"PE([1-9][0-9]*)", value)
    if match:
        return {"name": value, "pes": int(match.group(1))}
    raise ValueError(f"unknown core size {value!r} (allowed: {', '.join(c.name for c in DPU_CORES)}, PE<n>, "
                     "or a mapping with name, pes, dsp, lut, bram36, uram, unroll, clock_hz)")


class CoreSizeSpec(_Spec):
    name: Name
    pes: PeCount | None = None
    dsp: Annotated[NonNegativeFloat, Field(le=MAX_FPGA_RESOURCE)] = 0.0
    lut: Annotated[NonNegativeFloat, Field(le=MAX_FPGA_RESOURCE)] = 0.0
    bram36: Annotated[NonNegativeFloat, Field(le=MAX_FPGA_RESOURCE)] = 0.0
    uram: Annotated[NonNegativeFloat, Field(le=MAX_FPGA_RESOURCE)] = 0.0
    unroll: dict[LoopDim, PeCount] = {}
    clock_hz: ClockHz | None = None


def _overrides_of(table) -> type[_Spec]:
    """A spec whose keys are the fields of dataclass ``table``, each optional: what changes."""
    fields = {f.name: (NonNegativeFloat | None, None) for f in dataclasses.fields(table)}
    return create_model(f"{table.__name__}Spec", __base__=_Spec, **fields)


EnergySpec, StaticSpec, AreaSpec = map(_overrides_of, (EnergyTable, StaticPower, AreaTable))


DataflowRef = Annotated[
    Union[Annotated[str, Tag("by name")], Annotated[DataflowSpec, Tag("declared")]],
    Discriminator(lambda v: "by name" if isinstance(v, str) else "declared"),
]
_TAGS = ("by name", "declared")


def _preset(name: Any) -> str:
    return PLATFORMS.check(name)


class PlatformSpec(_Spec):
    """The one schema of a platform: a platform file, and a config's ``platform`` section.

    Every key but ``base`` and ``pe_step`` is a field of :class:`Platform`
    (a test holds them to it); each is optional because a platform starting
    from a ``base`` lists only what changes.  The numeric keys carry the
    bounds of :data:`spaces.hardware.PLATFORM_LIMITS`.
    """

    name: Name | None = None
    base: Annotated[str, BeforeValidator(_preset)] | None = None
    kind: Annotated[str, BeforeValidator(_one_of(KINDS, "a platform kind"))] | None = None
    pes: PeCount | None = None
    dsp: FpgaResource | None = None
    lut: FpgaResource | None = None
    bram36: FpgaResource | None = None
    uram: Annotated[NonNegativeFloat, Field(le=MAX_FPGA_RESOURCE)] | None = None
    bw_gbps: Bandwidth | None = None
    noc_gbps: Bandwidth | None = None
    buffer_bytes: Bytes | None = None
    clock_hz: ClockHz | None = None
    word_bytes: WordBytes | None = None
    acc_bytes: WordBytes | None = None
    rf_bytes: BufferBytes | None = None
    layer_setup_cycles: SetupCycles | None = None
    mapping_objective: Annotated[str, BeforeValidator(_one_of(MAPPING_OBJECTIVES, "a mapping objective"))] | None = None
    max_cores: CoreCount | None = None
    energy: EnergySpec | None = None
    static: StaticSpec | None = None
    area: AreaSpec | None = None
    core_sizes: list[Annotated[CoreSizeSpec, BeforeValidator(_core_by_name)]] | None = Field(None, min_length=1,
                                                                                            max_length=MAX_MENU)
    dataflows: list[DataflowRef] | None = Field(None, min_length=1)
    stock_dataflows: list[Name] | None = None
    """Among ``dataflows``, those the board's stock cores run (empty or absent: all)."""
    pe_step: PeCount | None = None
    """ASIC only: a core menu of every multiple of this many PEs instead of powers of two."""


# -- errors ------------------------------------------------------------------


def _section_keys(root: type[BaseModel], loc: tuple) -> list[str]:
    node: Any = root
    for part in loc:
        node = _strip(node)
        if isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
            node = node.model_fields[part].annotation
        elif isinstance(part, int) or part in _TAGS:
            continue
        else:
            return []
    node = _strip(node)
    return list(node.model_fields) if isinstance(node, type) and issubclass(node, BaseModel) else []


def _strip(tp):
    """The model inside ``X | None``, ``list[X]``, ``Annotated[X, ...]`` and tagged unions."""
    if typing.get_origin(tp) in (Annotated, list, Union, types.UnionType):
        inner = [_strip(a) for a in typing.get_args(tp)]
        return next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), tp)
    return tp


def _problems(error: ValidationError, root: type[BaseModel]) -> list[tuple[str, str]]:
    problems = []
    for err in error.errors():
        loc = tuple(p for p in err["loc"] if p not in _TAGS and p != "[key]")
        key = ".".join(str(p) for p in loc)
        kind, value = err["type"], err.get("input")
        if kind == "extra_forbidden":
            allowed = _section_keys(root, loc[:-1])
            problems.append((key, "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")))
        elif kind == "missing":
            problems.append((key, "required key is missing"))
        elif kind.startswith("bool"):
            problems.append((key, f"{value!r} is not a boolean (allowed: true, false)"))
        else:
            message = err["msg"].removeprefix("Value error, ")
            shown = userfiles.shown(value)
            if not isinstance(value, dict) and shown not in message and len(shown) < 80:
                message += f" (got {shown})"
            problems.append((key, message))
    return problems


def _validate(spec: type[BaseModel], data: Any, source: str):
    if not isinstance(data, Mapping):
        raise DefinitionError(source, [("", f"expected a mapping, got {type(data).__name__}")])
    try:
        return spec.model_validate(dict(data))
    except ValidationError as e:
        raise DefinitionError(source, _problems(e, spec)) from None


# -- dataflows ----------------------------------------------------------------


def load_dataflow(data: Mapping, source: str = "<dataflow>") -> Dataflow:
    """A :class:`Dataflow` from a mapping; not registered (see :func:`register_dataflow`)."""
    return _dataflow(_validate(DataflowSpec, data, source), source, "")


def _dataflow(spec: DataflowSpec, source: str, key: str) -> Dataflow:
    dims = spec.main_dims
    repeated = next((i for i, d in enumerate(dims) if d in dims[:i]), None)
    if repeated is not None:
        raise DefinitionError(source, [(f"{key}unrolled.{repeated}",
                                        f"{dims[repeated]!r} is unrolled twice (allowed: each of "
                                        f"{', '.join(LOOP_DIMS)} at most once)")])
    for dim in spec.max_extents:
        if dim not in dims:
            raise DefinitionError(source, [(f"{key}max_extents.{dim}",
                                            f"{dim!r} is not unrolled (allowed: {', '.join(dims)})")])
    try:
        dataflow = spec.build()
    except ValueError as e:
        raise DefinitionError(source, [(f"{key}unrolled", str(e))]) from None
    known = DATAFLOWS.get(dataflow.name)
    if known is not None and not _same(known, dataflow):
        raise DefinitionError(source, [(f"{key}name", f"{dataflow.name!r} is already a different dataflow "
                                        f"(taken: {', '.join(DATAFLOWS)}); choose another name")])
    return dataflow


def _same(a: Dataflow, b: Dataflow) -> bool:
    """Equal definitions; the description is only a comment."""
    return dataclasses.replace(a, description="") == dataclasses.replace(b, description="")


def register_dataflow(dataflow: Dataflow) -> Dataflow:
    """Add ``dataflow`` to :data:`DATAFLOWS` and return the registered one.

    Registering an equal definition again is a no-op (the first description stays).
    """
    known = DATAFLOWS.setdefault(dataflow.name, dataflow)
    if not _same(known, dataflow):
        raise ValueError(f"dataflow {dataflow.name!r} is already registered with another definition "
                         f"(taken: {', '.join(DATAFLOWS)}); choose another name")
    return known


# -- platforms ----------------------------------------------------------------


def read_yaml(path: str | pathlib.Path) -> Any:
    """The YAML in ``path``, read by the one bounded loader every user file goes through."""
    try:
        return userfiles.read_yaml(path)
    except userfiles.InputFileError as e:
        raise DefinitionError(str(path), [("", str(e))]) from None


def load_platform(data: Mapping | str | pathlib.Path, source: str | None = None) -> Platform:
    """A :class:`Platform` from a mapping or a YAML file; registers the dataflows it declares."""
    default_name = None
    if isinstance(data, (str, pathlib.Path)):
        source = source or str(data)
        default_name = pathlib.Path(data).stem
        data = read_yaml(data)
    source = source or "<platform>"
    spec = _validate(PlatformSpec, data, source)
    base = PLATFORMS[spec.base] if spec.base else None
    return build_platform(spec, source, base=base,
                          default_name=default_name or (None if base is None else f"{base.name}_custom"))


def build_platform(spec: PlatformSpec, source: str, *, base: Platform | None = None,
                   default_name: str | None = None) -> Platform:
    """The platform ``spec`` describes: ``base`` (a preset or an already built platform) with the
    spec's keys changed, or, without a base, the spec's keys with the defaults of the module docstring.

    Raises :class:`DefinitionError` listing every problem; registers the dataflows the spec declares.
    """
    return _PlatformBuilder(spec, source, base, default_name).build()


_TABLES = {"energy": (ASIC_ENERGY, FPGA_ENERGY), "static": (ASIC_STATIC, FPGA_STATIC), "area": (AreaTable(),) * 2}
"""Technology tables without a base: the kind's defaults (ASIC, FPGA), merged with the spec's changes."""
_BUILT = ("name", "kind", "pes", "dsp", "lut", "bram36", "uram", "noc_gbps", "core_sizes", "dataflows",
          "stock_dataflows", "max_cores", "pe_step", "base", *_TABLES)
"""Keys the builder derives; every other key of the spec is a plain field of :class:`Platform`."""
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Platform) if f.default is not dataclasses.MISSING}
_REQUIRED = object()


class _PlatformBuilder:
    def __init__(self, spec: PlatformSpec, source: str, base: Platform | None, default_name: str | None):
        self.spec, self.source, self.base = spec, source, base
        self.default_name = default_name
        self.problems: list[tuple[str, str]] = []

    def field(self, key: str, default=None):
        """The spec's value, else the base's, else ``default`` (by default the field's); ``_REQUIRED``: none."""
        value = getattr(self.spec, key)
        if value is None and self.base is not None:
            value = getattr(self.base, key)
        if value is None:
            value = _DEFAULTS.get(key) if default is None else default
        if value is None or value is _REQUIRED:
            value = None
            self.problems.append((key, "required key is missing (or start from a preset with base: "
                                       f"{PLATFORMS.names})"))
        return value

    def table(self, key: str, fpga: bool):
        start = getattr(self.base, key) if self.base is not None else _TABLES[key][fpga]
        changes = getattr(self.spec, key)
        if changes is None:
            return start
        return dataclasses.replace(start, **{k: v for k, v in changes.model_dump().items() if v is not None})

    def build(self) -> Platform:
        spec = self.spec
        name = spec.name or self.default_name
        if name is None:
            self.problems.append(("name", "required key is missing"))
        kind = self.field("kind")
        fpga = kind == "fpga"
        fields = {key: self.field(key) for key in PlatformSpec.model_fields if key not in _BUILT}
        bw = fields["bw_gbps"]
        fields.update(name=name, kind=kind, noc_gbps=self.field("noc_gbps", 1.0 if bw is None else 8 * bw),
                      **{key: self.table(key, fpga) for key in _TABLES},
                      **{key: self.field(key, _REQUIRED if fpga else None) for key in ("dsp", "lut", "bram36")},
                      uram=self.field("uram", 0.0 if fpga else None))
        fields["max_cores"], fields["pes"], fields["core_sizes"] = self.budget(kind, fields)
        dataflows = self.dataflows()
        if dataflows is not None:
            fields["dataflows"] = tuple(df.name for df in dataflows)
        elif self.base is not None:
            fields["dataflows"] = self.base.dataflows
        fields["stock_dataflows"] = self.stock_dataflows(fields.get("dataflows", _DEFAULTS["dataflows"]))
        if self.problems:
            order = {key: i for i, key in enumerate(PlatformSpec.model_fields)}  # report in schema order
            self.problems.sort(key=lambda problem: order.get(problem[0].split(".")[0], len(order)))
            raise DefinitionError(self.source, self.problems)
        added = [df for df in dataflows or () if df.name not in DATAFLOWS]
        for df in added:
            register_dataflow(df)
        try:
            return Platform(**fields)
        except ValueError as e:
            for df in added:
                DATAFLOWS.pop(df.name, None)
            key = "core_sizes" if "core size" in str(e) else ""
            raise DefinitionError(self.source, [(key, str(e))]) from None

    def stock_dataflows(self, dataflows: tuple[str, ...]) -> tuple[str, ...]:
        """The spec's stock dataflows (each on the menu), else the base's while the menu still holds them,
        else none (all)."""
        if self.spec.stock_dataflows is not None:
            stray = [name for name in self.spec.stock_dataflows if name not in dataflows]
            if stray:
                self.problems.append(("stock_dataflows", f"{stray} are not in dataflows (allowed: "
                                                         f"{', '.join(dataflows)})"))
            return tuple(self.spec.stock_dataflows)
        kept = self.base.stock_dataflows if self.base is not None else ()
        return kept if all(name in dataflows for name in kept) else ()

    def budget(self, kind, fields: dict) -> tuple[int | None, int | None, tuple[CoreSize, ...]]:
        """The core count, the PE budget and the core menu, which follow each other.

        An ASIC's budget is its ``pes``; a menu not listed follows it by
        :func:`spaces.hardware.budget_menu`; its ``max_cores`` is given (or
        the default).  An FPGA's ``max_cores`` is, unless given, how many of
        its most numerous core fit its resources
        (:func:`spaces.hardware.fpga_max_cores`), and its PEs what
        ``max_cores`` of its largest core reach, as the presets have it.
        """
        spec, base = self.spec, self.base
        if spec.pe_step is not None and spec.core_sizes is not None:
            self.problems.append(("pe_step", "give one of core_sizes, pe_step"))
        if kind == "fpga":
            cores = self.fpga_menu(self.core_sizes(), fields["uram"])
            if spec.pe_step is not None:
                self.problems.append(("pe_step", f"pe_step applies to ASIC platforms; "
                                                 f"{spec.name or self.default_name!r} is an FPGA with a fixed core menu"))
            budgets = {r: fields[r] for r in FPGA_RESOURCES}
            if spec.pes is not None:
                budgets["pes"] = spec.pes
            max_cores = spec.max_cores
            if max_cores is None and cores and all(budgets[r] is not None for r in FPGA_RESOURCES):
                max_cores = fpga_max_cores(cores, budgets)
            derived = (max_cores or 1) * max((c.pes for c in cores), default=1)
            return max_cores, spec.pes or derived, cores
        max_cores = self.field("max_cores")
        pes = self.field("pes", _REQUIRED)
        if spec.core_sizes is not None or pes is None:
            return max_cores, pes, self.core_sizes()
        try:
            if base is not None and base.kind == "asic":
                return max_cores, pes, budget_menu(base, pes, spec.pe_step)
            if spec.pe_step is not None:
                return max_cores, pes, pe_multiple_cores(spec.pe_step, pes)
        except ValueError as e:
            self.problems.append(("pe_step", str(e)))
            return max_cores, pes, ()
        return max_cores, pes, self.core_sizes()

    @staticmethod
    def fpga_menu(cores: tuple[CoreSize, ...], uram: float | None) -> tuple[CoreSize, ...]:
        """A DPU preset takes the configuration the device allows: its UltraRAM banks where it has
        UltraRAM (PG338's UltraRAM option), every buffer in BRAM36 where it has none."""
        swap = dict(zip(DPU_CORES, DPU_CORES_URAM)) if uram else dict(zip(DPU_CORES_URAM, DPU_CORES))
        return tuple(swap.get(core, core) for core in cores)

    def core_sizes(self) -> tuple[CoreSize, ...]:
        spec, base = self.spec, self.base
        if spec.core_sizes is None:
            if base is None:
                self.problems.append(("core_sizes", "required key is missing (a list of core sizes: "
                                                    f"{', '.join(c.name for c in DPU_CORES)}, PE<n>, or mappings)"))
                return ()
            return base.core_sizes
        cores, seen = [], {}
        for i, core in enumerate(spec.core_sizes):
            product = 1
            for extent in core.unroll.values():
                product *= extent
            pes = core.pes if core.pes is not None else (product if core.unroll else None)
            if pes is None:
                self.problems.append((f"core_sizes.{i}.pes", "required key is missing (or give unroll extents)"))
                continue
            if core.unroll and product != pes:
                self.problems.append((f"core_sizes.{i}.unroll", f"extents {dict(core.unroll)} multiply to "
                                                                f"{product}, not pes={pes}"))
            if core.name in seen:
                self.problems.append((f"core_sizes.{i}.name", f"{core.name!r} is listed twice (first at "
                                                              f"core_sizes.{seen[core.name]})"))
            seen.setdefault(core.name, i)
            cores.append(CoreSize(name=core.name, pes=pes, dsp=core.dsp, lut=core.lut, bram36=core.bram36,
                                  uram=core.uram, unroll=tuple(core.unroll.items()), clock_hz=core.clock_hz))
        return tuple(cores)

    def dataflows(self) -> list[Dataflow] | None:
        refs = self.spec.dataflows
        if refs is None:
            return None
        declared: dict[int, Dataflow] = {}
        for i, ref in enumerate(refs):
            if isinstance(ref, DataflowSpec):
                try:
                    declared[i] = _dataflow(ref, self.source, f"dataflows.{i}.")
                except DefinitionError as e:
                    self.problems += e.problems
        known = {**DATAFLOWS, **{df.name: df for df in declared.values()}}
        result, seen = [], set()
        for i, ref in enumerate(refs):
            if isinstance(ref, DataflowSpec):
                df = declared.get(i)
                if df is None:  # reported above
                    continue
            elif ref in known:
                df = known[ref]
            else:
                self.problems.append((f"dataflows.{i}", f"unknown dataflow {ref!r} (allowed: {', '.join(known)}; "
                                                        "or declare one: {name, unrolled, stationary})"))
                continue
            if df.name in seen:
                self.problems.append((f"dataflows.{i}", f"{df.name!r} is listed twice"))
            seen.add(df.name)
            result.append(df)
        return result
