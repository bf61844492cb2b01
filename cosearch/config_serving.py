"""The ``serving`` section of an experiment config: request streams that designs are judged on.

A scenario is a set of tenants, each a model of the experiment's workload
with an arrival process, a QoS bound, a priority and a request count (Planaria
§VI-A: Poisson arrivals, priorities drawn uniformly from 1–11, QoS-S/M/H =
1, 1/4, 1/16 × the MLPerf server latency bound).  ``scenarios:`` lists several
mixes, ``loads:`` several load multipliers; a design is judged on every
(scenario, load) case and its metrics aggregated (``aggregate``: mean, worst
case or CVaR).  ``cosearch.scenarios`` turns this section into the serving
engine's ``Scenario`` objects and scores designs with them.

Forms (docs/serving.md):

* ``arrival``: ``{poisson: QPS}`` (a bare number is a Poisson rate),
  ``{trace: FILE}`` (arrival times in seconds, one per line or the first
  column of a CSV), ``{closed_loop: N, think_ms: T}`` (N requests outstanding);
* ``qos``: ``QoS-S``/``QoS-M``/``QoS-H`` (the model's MLPerf server bound × 1,
  1/4, 1/16), ``15 ms`` or ``0.015 s`` (a bare number is milliseconds), or
  ``4x isolated`` (a multiple of the model's latency alone on the design scored);
* ``priority``: an integer ≥ 1, ``uniform`` (Planaria: each request's drawn from 1–11) or
  ``[low, high]`` (drawn from that range).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BeforeValidator, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt,
                      field_validator, model_validator)

from cosearch.config_base import Section, resolve_file, short_form
from objectives.serving_scenario import BACKFILL
from spaces.userfiles import InputFileError, read_text, shown

MAX_REQUESTS = 100_000
"""Requests per tenant: the engine holds a few (designs, requests) arrays."""
MAX_TRACE = 100_000
QOS_LEVELS = {"QoS-S": 1.0, "QoS-M": 1 / 4, "QoS-H": 1 / 16}
"""Planaria §VI-A: soft, medium and hard QoS as fractions of the MLPerf server latency bound."""
AGGREGATES = ("mean", "worst", "cvar")
PLANARIA_PRIORITIES = (1, 11)
"""``priority: uniform``: Planaria §VI-A draws each dispatched request's priority uniformly from 1–11."""
SLA_QUANTILE = 0.99
"""Planaria §VI-A after MLPerf: a tenant meets its SLA when 99 % of its requests meet the bound ..."""
SLA_QUANTILE_BY_MODEL = {"gnmt": 0.97}
"""... 97 % for a translation task (GNMT)."""


def sla_quantile(model: str) -> float:
    """The share of a tenant's requests that must meet its bound for its SLA (MLPerf's server rule)."""
    return SLA_QUANTILE_BY_MODEL.get(model, SLA_QUANTILE)


# -- QoS bounds ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class QosBound:
    """A QoS bound: ``seconds`` fixed, a ``mlperf`` fraction of the model's MLPerf server bound, or a
    multiple (``isolated``) of the model's latency alone on the design scored."""

    kind: Literal["seconds", "mlperf", "isolated"]
    value: float

    def seconds(self, model: str) -> float | None:
        """The bound for ``model`` in seconds; None when it depends on the design (``isolated``)."""
        if self.kind == "seconds":
            return self.value
        if self.kind == "mlperf":
            return self.value * mlperf_bound_s(model)
        return None

    def __str__(self) -> str:
        if self.kind == "mlperf":
            return next(name for name, f in QOS_LEVELS.items() if f == self.value)
        if self.kind == "isolated":
            return f"{self.value:g}x isolated"
        return f"{self.value * 1e3:g} ms"


_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_QOS_FORMS = "QoS-S, QoS-M, QoS-H, '<number> ms', '<number> s', '<number>x isolated'"


def parse_qos(value: Any) -> QosBound:
    """A ``qos`` entry as a ``QosBound``; a bare number is milliseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = f"{value} ms"
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError(f"expected a QoS bound ({_QOS_FORMS}), got {shown(value)}")
    lowered = text.lower()
    levels = {name.lower(): fraction for name, fraction in QOS_LEVELS.items()}
    if lowered in levels:
        return QosBound("mlperf", levels[lowered])
    match = re.fullmatch(_NUMBER + r"\s*(ms|s|x\s*isolated)", lowered)
    if match is None:
        raise ValueError(f"unknown QoS bound {shown(value)} (allowed: {_QOS_FORMS})")
    number, unit = float(match.group(1)), match.group(2)
    if not (0 < number < math.inf):
        raise ValueError(f"QoS bound {shown(value)} must be positive")
    if unit.startswith("x"):
        return QosBound("isolated", number)
    return QosBound("seconds", number * (1e-3 if unit == "ms" else 1.0))


def _qos_text(value: Any) -> str:
    return str(parse_qos(value))


QosText = Annotated[str, BeforeValidator(_qos_text)]


def _backfill(value: Any) -> int | None:
    """``all`` (or null): every idle interval; else a whole number of them ≥ 0."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "all"):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"backfilling depth {shown(value)} must be 'all' (every idle interval) or a whole "
                         f"number of idle intervals ≥ 0")
    return value


Backfill = Annotated[int | None, BeforeValidator(_backfill)]


def mlperf_bound_s(model: str) -> float:
    """The MLPerf server latency bound of a zoo model (docs/workloads.md: directly or by task and weight class)."""
    from objectives.workloads.zoo.mixes import latency_bound_s

    try:
        return latency_bound_s(model)
    except KeyError:
        raise ValueError(f"model {model!r} has no MLPerf server latency bound, so QoS-S/M/H do not apply "
                         f"(give the bound in ms or as 'Nx isolated')") from None


# -- arrivals --------------------------------------------------------------------


class ArrivalConfig(Section):
    """One of: ``poisson`` (queries/s), ``trace`` (a file of arrival times, s), ``closed_loop``
    (requests outstanding, each reissued ``think_ms`` after it finishes)."""

    poisson: PositiveFloat | None = None
    trace: str | None = None
    closed_loop: PositiveInt | None = None
    think_ms: NonNegativeFloat | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"poisson": value}
        return short_form(value, "poisson", (), "a Poisson rate (queries/s) or a mapping with poisson, trace "
                                                "or closed_loop")

    _file = field_validator("trace")(lambda cls, path, info: None if path is None else resolve_file(path, info))

    @model_validator(mode="after")
    def _one_process(self):
        given = [key for key in ("poisson", "trace", "closed_loop") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of poisson, trace, closed_loop (got {', '.join(given) or 'none'})")
        if self.think_ms is not None and self.closed_loop is None:
            raise ValueError("think_ms applies to closed_loop arrivals only")
        if self.trace is not None:
            read_trace(self.trace)  # a broken trace is a config error, with the line it breaks at
        return self

    def build(self):
        """The engine's arrival process."""
        from objectives import serving

        if self.poisson is not None:
            return serving.Poisson(rate_qps=self.poisson)
        if self.trace is not None:
            return serving.Trace(arrival_s=tuple(read_trace(self.trace)))
        return serving.ClosedLoop(outstanding=self.closed_loop, think_s=(self.think_ms or 0.0) * 1e-3)


def read_trace(path: str) -> list[float]:
    """Arrival times (s) from a file: one per line, or the first column of a CSV; ``#`` starts a comment.

    Times must be finite, non-negative and non-decreasing; a header line that is not a number is skipped.
    """
    try:
        text = read_text(path)
    except InputFileError as e:
        raise ValueError(f"trace {path}: {e}") from None
    times: list[float] = []
    for number, line in enumerate(text.splitlines(), start=1):
        cell = line.split("#", 1)[0].split(",", 1)[0].strip()
        if not cell:
            continue
        try:
            t = float(cell)
        except ValueError:
            if not times and number == 1:
                continue  # a header
            raise ValueError(f"trace {path}, line {number}: {shown(cell)} is not a time in seconds") from None
        if not (0 <= t < math.inf) or (times and t < times[-1]):
            raise ValueError(f"trace {path}, line {number}: {cell} is not a finite time at or after the "
                             f"previous one ({times[-1] if times else 0:g} s)")
        times.append(t)
        if len(times) > MAX_TRACE:
            raise ValueError(f"trace {path}: more than {MAX_TRACE:,} arrivals (allowed: at most {MAX_TRACE:,})")
    if not times:
        raise ValueError(f"trace {path}: no arrival times")
    return times


# -- tenants and scenarios -----------------------------------------------------------


def _priority(value: Any) -> Any:
    """An integer ≥ 1, ``uniform`` (Planaria's 1–11 per request) or a ``[low, high]`` pair drawn per request."""
    if isinstance(value, str) and value.strip().lower() == "uniform":
        return "uniform"
    if isinstance(value, bool) or not (isinstance(value, int) or (
            isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                                for v in value))):
        raise ValueError(f"expected a priority: an integer ≥ 1, 'uniform' (1–11 per request, Planaria) or "
                         f"[low, high], got {shown(value)}")
    low, high = (value, value) if isinstance(value, int) else value
    if not 1 <= low <= high:
        raise ValueError(f"priority {shown(value)} must be ≥ 1 (a pair: 1 ≤ low ≤ high)")
    return value


Priority = Annotated[Any, AfterValidator(_priority)]


class TenantConfig(Section):
    """One tenant: a model of the workload (a zoo ``model`` name, or the layer-table ``file`` the workload
    lists) with its own arrival, QoS, priority and request count (each defaults to the section's), and the
    share of its requests that must meet the bound (default: MLPerf's, ``sla_quantile(model)``)."""

    model: str | None = None
    file: str | None = None
    name: str | None = None
    arrival: ArrivalConfig | None = None
    qos: QosText | None = None
    priority: Priority | None = None
    requests: Annotated[int, Field(gt=0, le=MAX_REQUESTS)] | None = None
    sla_quantile: Annotated[float, Field(gt=0, le=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return short_form(value, "model", (str,), "a model name or a mapping with model or file")

    _file = field_validator("file")(lambda cls, path, info: None if path is None else resolve_file(path, info))

    @model_validator(mode="after")
    def _one_source(self):
        if (self.model is None) == (self.file is None):
            raise ValueError("give exactly one of model (a model of the workload), file (a layer table it lists)")
        return self

    def model_name(self) -> str:
        """The name of the workload's model this tenant sends requests to."""
        if self.model is not None:
            return self.model
        from objectives.workloads.files import load_model

        return load_model(self.file).name


class MixConfig(Section):
    """What a scenario may set; unset keys take the ``serving`` section's."""

    tenants: list[TenantConfig] | None = Field(default=None, min_length=1)
    arrival: ArrivalConfig | None = None
    qos: QosText | None = None
    priority: Priority | None = None
    requests: Annotated[int, Field(gt=0, le=MAX_REQUESTS)] | None = None
    loads: list[PositiveFloat] | None = Field(default=None, min_length=1, max_length=64)


class ScenarioConfig(MixConfig):
    """One mix of ``scenarios:``, named in the per-scenario table."""

    name: str | None = None


class ServingConfig(MixConfig):
    """The ``serving`` section: tenants (default: one per model of the workload), their defaults, the
    dispatch policy, warm-up, seed; several ``scenarios`` and ``loads`` aggregated by ``aggregate``."""

    policy: str = "shared"
    policy_options: dict[str, Any] = {}
    backfill: Backfill = BACKFILL
    qos: QosText = "QoS-S"
    priority: Priority = "uniform"
    requests: Annotated[int, Field(gt=0, le=MAX_REQUESTS)] = 200
    warmup: NonNegativeInt = 20
    seed: NonNegativeInt = 0
    loads: list[PositiveFloat] = Field(default=[1.0], min_length=1, max_length=64)
    scenarios: list[ScenarioConfig] | None = Field(default=None, min_length=1, max_length=64)
    aggregate: Literal["mean", "worst", "cvar"] = "mean"
    cvar_alpha: Annotated[float, Field(gt=0, le=1)] = 0.25

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, name: str) -> str:
        from objectives.serving import POLICIES

        return POLICIES.check(name)

    @model_validator(mode="after")
    def _warmup_below_requests(self):
        counts = [self.requests] + [t.requests for mix in self.mixes() for t in (mix.tenants or []) if t.requests]
        counts += [mix.requests for mix in self.mixes() if mix.requests]
        if self.warmup >= min(counts):
            raise ValueError(f"warmup {self.warmup} leaves no request to measure: a tenant sends {min(counts)} "
                             f"(allowed: warmup below every tenant's requests)")
        names = [mix.name for mix in self.scenarios or [] if mix.name]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"scenario {repeated[0]!r} is named twice; give each a distinct name")
        return self

    def mixes(self) -> list[MixConfig]:
        """The scenarios, or the section itself as the one scenario."""
        return list(self.scenarios) if self.scenarios else [self]

