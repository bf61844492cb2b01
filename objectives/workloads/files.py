"""Layer tables as files: a model as a CSV or YAML table, one row per layer.

Columns (CSV header / YAML keys), in the loop nest of ``_layers.py``:

==========  ========================================================  =========
column      meaning                                                   default
==========  ========================================================  =========
name        unique layer name                                         required
op          conv, dwconv, pwconv, gemm (or fc), upconv, matmul, lstm  required
N           batch (attention: heads)                                  1
G           groups (dwconv: the channel count)                        dwconv: K
                                                                      (then K
                                                                      = 1);
                                                                      else 1
K           output channels *per group* (lstm: 4 x hidden)            required
C           input channels *per group* (lstm: inputs + hidden)        required;
                                                                      dwconv: 1
Y           output rows (gemm/matmul: tokens, lstm: time steps)       1
X           output columns                                            Y for conv,
                                                                      dwconv,
                                                                      pwconv,
                                                                      upconv;
                                                                      else 1
R, S        filter rows, filter columns                               R: 1, S: R
stride      one stride for rows and columns                           1
dilation    one dilation for rows and columns                         1
preds       names of the layers this one reads; ``;``-separated in    empty
            CSV, a list (or the same string) in YAML; empty means
            the layer reads the network input
==========  ========================================================  =========

A depthwise row may be written ``dwconv`` with ``K`` = channels and no ``G``
(short for G = channels, K = C = 1).  Files written before the group dim
existed have a ``groups`` column instead of ``G``, with ``K`` counting all
output channels; they still load: G = groups and K = K / groups.  A row may
not give both.

A CSV file may start with ``# name: <model>`` and ``# extra_params: <int>``
lines (without them the model is named after the file and has no extra
parameters); any other line starting with ``#`` and blank lines are ignored.
A YAML file is a mapping with ``name``, ``extra_params`` and ``layers`` (a
list of mappings with the columns above).  :func:`save_model` writes every
column explicitly (``G``, never ``groups``), so a saved table reads back as an
identical ``Model``.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from objectives.workloads._layers import DIMS, OP_NAMES, Model, Op, layer_size_problem, make_model, parse_op
from objectives.workloads._registry import get_model
from spaces import userfiles

COLUMNS = ("name", "op", *DIMS, "stride", "dilation", "preds")
LEGACY_COLUMNS = ("groups",)
"""Read but never written: ``groups`` with K counting all output channels."""
READ_COLUMNS = (*COLUMNS, *LEGACY_COLUMNS)
TABLE_SUFFIXES = (".csv", ".yaml", ".yml")
_SPATIAL_OPS = (Op.CONV, Op.DWCONV, Op.PWCONV, Op.UPCONV)
_META_LINE = re.compile(r"#\s*(name|extra_params)\s*:\s*(.*?)\s*$")


class LayerTableError(ValueError):
    """A malformed layer table; the message names file, layer, column and value."""


def _positive_int(value: Any) -> int:
    number = value
    if isinstance(value, str) and re.fullmatch(r"\s*\+?\d+\s*", value):
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise ValueError(f"{value!r} is not a positive integer")
    return number


def _non_negative_int(value: Any) -> int:
    if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value).strip() == "0":
        return 0
    try:
        return _positive_int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a non-negative integer") from None


def _op_name(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in OP_NAMES:
        raise ValueError(f"{value!r} is not an op (allowed: {', '.join(sorted(OP_NAMES))})")
    return value.strip().lower()


def _layer_name(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # YAML reads a layer called 1 as a number
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a layer name (a non-empty string)")
    return value.strip()


def _pred_names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(";")
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{value!r} is not a list of layer names")
    return tuple(_layer_name(v) for v in value if not (isinstance(v, str) and not v.strip()))


Count = Annotated[int, BeforeValidator(_positive_int)]


class LayerRow(BaseModel):
    """One row of a layer table; ``None`` fields take the op's default."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: Annotated[str, BeforeValidator(_layer_name)]
    op: Annotated[str, BeforeValidator(_op_name)]
    N: Count = 1
    G: Count | None = None
    K: Count
    C: Count | None = None
    Y: Count = 1
    X: Count | None = None
    R: Count = 1
    S: Count | None = None
    stride: Count = 1
    dilation: Count = 1
    groups: Count | None = None
    preds: Annotated[tuple[str, ...], BeforeValidator(_pred_names)] = ()


class ModelFile(BaseModel):
    """The top level of a YAML layer table."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, BeforeValidator(_layer_name)] | None = None
    extra_params: Annotated[int, BeforeValidator(_non_negative_int)] = 0
    layers: list[Any]


def _first_error(error: ValidationError, allowed_keys: tuple[str, ...]) -> tuple[str, str]:
    """``(key, message)`` of a pydantic error, in the words of this module."""
    # An unknown key first: a misspelt key also shows up as a missing one.
    err = min(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
    key = ".".join(str(part) for part in err["loc"]) or "?"
    if err["type"] == "missing":
        return key, "is required"
    if err["type"] == "extra_forbidden":
        return key, f"is not a column (allowed: {', '.join(allowed_keys)})"
    message = err["msg"].removeprefix("Value error, ")
    if "input" in err and not message.startswith(userfiles.shown(err["input"])):
        message = f"{userfiles.shown(err['input'])}: {message}"
    return key, message


def _rows_to_model(path: Path, name: str, extra_params: int, rows: list[tuple[str, Mapping]]) -> Model:
    """``rows`` pairs a location ("line 4", "layers.2") with the raw row."""
    parsed: list[LayerRow] = []
    seen: dict[str, str] = {}
    for where, raw in rows:
        label = raw.get("name") if isinstance(raw, Mapping) else None
        at = f"{path}: {where}" + (f" (layer {str(label).strip()!r})" if label not in (None, "") else "")
        if not isinstance(raw, Mapping):
            raise LayerTableError(f"{at}: expected a mapping of columns, got {userfiles.shown(raw)}")
        try:
            row = LayerRow.model_validate(dict(raw))
        except ValidationError as e:
            key, message = _first_error(e, READ_COLUMNS)
            raise LayerTableError(f"{at}, column {key}: {message}") from None
        if row.name in seen:
            raise LayerTableError(f"{at}, column name: duplicate layer name (first at {seen[row.name]})")
        seen[row.name] = where
        _check_row(at, row)
        parsed.append(row)
    index = {row.name: i for i, row in enumerate(parsed)}
    preds = []
    for (where, raw), row in zip(rows, parsed):
        at = f"{path}: {where} (layer {row.name!r}), column preds"
        for p in row.preds:
            if p == row.name:
                raise LayerTableError(f"{at}: a layer cannot read itself")
            if p not in index:
                close = difflib.get_close_matches(p, index, n=3)
                hint = f"did you mean {' or '.join(map(repr, close))}" if close else "no such layer in this file"
                raise LayerTableError(f"{at}: unknown layer {p!r} ({hint}; leave preds empty for the network input)")
        preds.append([index[p] for p in row.preds])
    ops, dims = [], []
    for row in parsed:
        op = parse_op(row.op)
        ops.append(op)
        dims.append(_dims(op, row))
    strides = [row.stride for row in parsed]
    dilations = [row.dilation for row in parsed]
    try:
        return make_model(name, [r.name for r in parsed], ops, dims, strides, preds, extra_params, dilation=dilations)
    except ValueError as e:
        raise LayerTableError(f"{path}: {e}") from None


def _groups_and_k(op: Op, row: LayerRow) -> tuple[int, int]:
    """``(G, K per group)``: from ``G``, the legacy ``groups`` (K total), or the op's default."""
    if row.G is not None:
        return row.G, row.K
    if row.groups is not None:
        return row.groups, row.K // row.groups
    return (row.K, 1) if op == Op.DWCONV else (1, row.K)


def _dims(op: Op, row: LayerRow) -> tuple[int, ...]:
    g, k = _groups_and_k(op, row)
    c = 1 if row.C is None else row.C
    x = row.X if row.X is not None else (row.Y if op in _SPATIAL_OPS else 1)
    s = row.R if row.S is None else row.S
    return row.N, g, k, c, row.Y, x, row.R, s


def _check_row(at: str, row: LayerRow) -> None:
    op = parse_op(row.op)
    if row.C is None and op != Op.DWCONV:
        raise LayerTableError(f"{at}, column C: is required for op {row.op!r} (input channels per group)")
    if op == Op.DWCONV and row.C not in (None, 1):
        raise LayerTableError(f"{at}, column C: {row.C} for a dwconv layer (allowed: 1, one input channel per group)")
    if row.G is not None and row.groups is not None:
        raise LayerTableError(
            f"{at}, column groups: {row.groups} given with G={row.G} (allowed: G with K per group, "
            "or the legacy groups with K counting all output channels, not both)"
        )
    if row.groups is not None and row.K % row.groups:
        raise LayerTableError(
            f"{at}, column groups: {row.groups} does not divide K={row.K} (allowed: a divisor of K)"
        )
    if op == Op.DWCONV and row.G is not None and row.K != 1:
        raise LayerTableError(
            f"{at}, column K: {row.K} for a dwconv layer with G={row.G} (allowed: 1, one output channel per group)"
        )
    too_large = layer_size_problem(_dims(op, row), row.stride, row.dilation)
    if too_large:
        raise LayerTableError(f"{at}, columns {','.join(DIMS)}: {too_large}")


def _read_csv(path: Path, text: str) -> Model:
    meta: dict[str, str] = {}
    header: list[str] | None = None
    rows: list[tuple[str, dict]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = _META_LINE.fullmatch(stripped)
            if match and header is None:
                meta[match.group(1)] = match.group(2)
            continue
        cells = [cell.strip() for cell in next(csv.reader([line]))]
        if header is None:
            unknown = [c for c in cells if c not in READ_COLUMNS]
            if unknown:
                raise LayerTableError(
                    f"{path}: line {lineno}, header: {unknown[0]!r} is not a column (allowed: {', '.join(READ_COLUMNS)})"
                )
            missing = [c for c in ("name", "op", "K") if c not in cells]
            if missing:
                raise LayerTableError(f"{path}: line {lineno}, header: column {missing[0]} is required")
            if len(set(cells)) != len(cells):
                dup = next(c for c in cells if cells.count(c) > 1)
                raise LayerTableError(f"{path}: line {lineno}, header: column {dup} appears twice")
            header = cells
            continue
        if len(cells) > len(header):
            raise LayerTableError(
                f"{path}: line {lineno}: {len(cells)} cells but the header has {len(header)} columns"
            )
        if len(cells) < len(header):  # a cut-off row would silently take defaults
            raise LayerTableError(
                f"{path}: line {lineno}, column {header[len(cells)]}: {len(cells)} cells but the header has "
                f"{len(header)} columns (leave a cell empty for its default: ',,')"
            )
        rows.append((f"line {lineno}", {k: v for k, v in zip(header, cells) if v != ""}))
    if header is None:
        raise LayerTableError(f"{path}: no header line (columns: {', '.join(COLUMNS)})")
    if not rows:
        raise LayerTableError(f"{path}: has no layers")
    try:
        extra_params = _non_negative_int(meta.get("extra_params", "0"))
    except ValueError as e:
        raise LayerTableError(f"{path}: # extra_params: {e}") from None
    return _rows_to_model(path, meta.get("name") or path.stem, extra_params, rows)


def _read_yaml(path: Path, text: str) -> Model:
    try:
        data = userfiles.parse_yaml(text)
    except userfiles.InputFileError as e:
        raise LayerTableError(f"{path}: {e}") from None
    if not isinstance(data, Mapping):
        raise LayerTableError(f"{path}: expected a mapping with keys name, extra_params, layers")
    try:
        doc = ModelFile.model_validate(data)
    except ValidationError as e:
        key, message = _first_error(e, tuple(ModelFile.model_fields))
        message = message.replace("is not a column", "is not a key")
        raise LayerTableError(f"{path}: {key}: {message}") from None
    if not doc.layers:
        raise LayerTableError(f"{path}: layers: has no layers")
    rows = [(f"layers.{i}", raw) for i, raw in enumerate(doc.layers)]
    return _rows_to_model(path, doc.name or path.stem, doc.extra_params, rows)


def _suffix(path: Path, allowed: tuple[str, ...]) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise ValueError(
            f"{path}: unknown layer table format {path.suffix or '(none)'!r} (allowed: {', '.join(allowed)})"
        )
    return suffix


def load_model(path: str | Path) -> Model:
    """Read a model from a ``.csv``, ``.yaml``/``.yml`` layer table or an ``.onnx`` file.

    ONNX files go through :func:`objectives.workloads.onnx_import.load_onnx`
    with the shapes stored in the file; call that directly to fix dynamic ones.
    """
    path = Path(path)
    suffix = _suffix(path, (*TABLE_SUFFIXES, ".onnx"))
    if suffix == ".onnx":
        from objectives.workloads.onnx_import import load_onnx

        try:
            return load_onnx(path)
        except ValueError as e:
            raise LayerTableError(str(e) if str(e).startswith(f"{path}:") else f"{path}: {e}") from None
    try:
        text = userfiles.read_text(path)
    except userfiles.InputFileError as e:
        raise LayerTableError(f"{path}: {e}") from None
    return _read_csv(path, text) if suffix == ".csv" else _read_yaml(path, text)


def model_rows(model: Model) -> list[dict]:
    """Every column of every layer, explicitly, in table order."""
    rows = []
    for i, name in enumerate(model.layer_names):
        row = {"name": name, "op": Op(int(model.op[i])).name.lower()}
        row.update({d: int(v) for d, v in zip(DIMS, model.dims[i])})
        row["stride"] = int(model.stride[i])
        row["dilation"] = int(model.dilation[i])
        row["preds"] = [model.layer_names[p] for p in model.preds[i]]
        rows.append(row)
    return rows


def _check_names(model: Model, path: Path, csv_file: bool) -> None:
    """Refuse names that would not read back unchanged."""
    for name in (model.name, *model.layer_names):
        if not name or name != name.strip():
            raise ValueError(f"{path}: model {model.name!r}: name {name!r} is empty or has surrounding spaces")
        if csv_file and (name.startswith("#") or any(ch in name for ch in ";\n\r")):
            raise ValueError(
                f"{path}: model {model.name!r}: name {name!r} cannot be written to CSV "
                "(no ';', line breaks or leading '#'); save as .yaml instead"
            )


def dumps_csv(model: Model) -> str:
    out = io.StringIO()
    out.write(f"# name: {model.name}\n# extra_params: {model.extra_params}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in model_rows(model):
        writer.writerow([";".join(row[c]) if c == "preds" else row[c] for c in COLUMNS])
    return out.getvalue()


def dumps_yaml(model: Model) -> str:
    head = yaml.safe_dump({"name": model.name, "extra_params": model.extra_params}, sort_keys=False)
    flow = dict(default_flow_style=True, sort_keys=False, width=1 << 30)
    lines = [f"  - {yaml.safe_dump(row, **flow).strip()}\n" for row in model_rows(model)]
    return head + "layers:\n" + "".join(lines)


def save_model(model: Model, path: str | Path) -> Path:
    """Write ``model`` as a ``.csv`` or ``.yaml``/``.yml`` table (format by extension)."""
    path = Path(path)
    csv_file = _suffix(path, TABLE_SUFFIXES) == ".csv"
    _check_names(model, path, csv_file)
    if csv_file:
        text = dumps_csv(model)
    else:
        text = dumps_yaml(model)
    path.write_text(text, encoding="utf-8")
    return path


def export_model(name: str, path: str | Path) -> Path:
    """Write zoo model ``name`` to ``path``: ``cosearch workloads export NAME --to FILE``."""
    return save_model(get_model(name), path)
