"""Reading user files within bounds: experiment configs, platform files, layer tables.

A hostile or careless file must end in one clear message, quickly and in
little memory, never in a traceback or a machine brought to its knees:

* a file over :data:`MAX_FILE_BYTES` is refused before it is parsed (and at
  most that many bytes are ever read, so ``/dev/zero`` is refused too);
* text must be UTF-8; the message names the offending byte's offset, line
  and column;
* YAML is read by one loader for every kind of file, which refuses a key
  written twice in one mapping, non-finite numbers (``.inf``, ``.nan``) and
  integers beyond 64 bits, nesting deeper than :data:`MAX_DEPTH` (PyYAML's
  composer recurses once per level), more than :data:`MAX_NODES` values and
  documents whose aliases expand beyond :data:`MAX_EXPANDED` characters:
  the "billion laughs" attack, where
  a few hundred bytes of nested aliases stand for gigabytes of data that
  every later copy, validation or ``repr`` would walk;
* values quoted in messages go through :func:`shown`, whose output is short
  whatever the value.

Every problem is an :class:`InputFileError` whose message does not name the
file; callers wrap it in their own error type with the path.
"""

from __future__ import annotations

import math
import pathlib
import reprlib
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

MAX_FILE_BYTES = 1 << 20
"""1 MiB: a config or platform file is a few hundred bytes, a layer table of a
thousand layers about 60 kB, and pure-Python YAML parses 1 MiB in about a second."""
MAX_DEPTH = 32
"""Nesting levels; configs and layer tables use at most five."""
MAX_NODES = 20_000
"""Values (scalars, lists, mappings) in one document, enough for a YAML layer
table of 750 layers (CSV tables have no such bound): composing each costs
tens of microseconds of Python, so refusing the 20,001st stays under a second."""
MAX_EXPANDED = MAX_FILE_BYTES
"""Characters plus values a document may stand for once its aliases are expanded."""
MAX_INT = 2**63 - 1


class InputFileError(ValueError):
    """A file that cannot be read as input; the message leaves the path to the caller."""


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, in time bounded by ``limit`` too."""
    short = reprlib.Repr()
    short.maxstring = short.maxother = short.maxlong = limit
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = 4
    short.maxlevel = 2
    text = short.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_text(path: str | pathlib.Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of ``path``; at most ``max_bytes`` are read."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise InputFileError(f"cannot read: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise InputFileError(f"larger than {max_bytes:,} bytes (allowed: at most {max_bytes:,}); "
                             "is this the right file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputFileError(f"not UTF-8 text: byte 0x{data[e.start]:02x} at offset {e.start} (line {line}, "
                             f"column {column}); save the file as UTF-8") from None


def read_yaml(path: str | pathlib.Path) -> Any:
    """The YAML document in ``path``, read within the bounds above."""
    return parse_yaml(read_text(path))


def parse_yaml(text: str) -> Any:
    """One YAML document from ``text`` (None when empty), read within the bounds above."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = " ".join(f"{e.context or ''} {e.problem or ''}".split())
        raise InputFileError(f"not valid YAML{where}: {what}") from None
    except yaml.YAMLError as e:
        raise InputFileError(f"not valid YAML: {' '.join(str(e).split())}") from None
    finally:
        loader.dispose()


try:  # libyaml's scanner and parser: about five times faster than PyYAML's
    from yaml._yaml import CParser as _Parser
except ImportError:
    _Parser = None


class _BoundedLoader(Composer, *((_Parser,) if _Parser else (Reader, Scanner, Parser)), SafeConstructor, Resolver):
    """``yaml.SafeLoader`` with the bounds and refusals of the module docstring.

    The composer, where aliases are resolved, is PyYAML's Python one (libyaml's
    has no hooks), so it comes first in the method order.
    """

    def __init__(self, stream):
        if _Parser:
            _Parser.__init__(self, stream)
        else:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.depth = self.nodes = 0
        self.expanded: dict[int, int] = {}  # id(node) → its size with aliases expanded

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = self.anchors.get(event.anchor)
            if node is not None and id(node) not in self.expanded:
                raise ComposerError(None, None, f"alias *{event.anchor} refers to a collection that contains it",
                                    event.start_mark)
        else:
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise ComposerError(None, None, f"more than {MAX_NODES:,} values (allowed: at most {MAX_NODES:,}; "
                                                "write a long layer table as CSV)", event.start_mark)
        if self.depth >= MAX_DEPTH:
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels (allowed: at most {MAX_DEPTH})",
                                event.start_mark)
        self.depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if id(node) not in self.expanded:  # a new node; an alias returns one already measured
            if isinstance(node, yaml.ScalarNode):
                size = 1 + len(node.value)
            elif isinstance(node, yaml.SequenceNode):
                size = 1 + sum(self.expanded[id(child)] for child in node.value)
            else:
                size = 1 + sum(self.expanded[id(k)] + self.expanded[id(v)] for k, v in node.value)
            if size > MAX_EXPANDED:
                raise ComposerError(None, None, f"aliases expand this value to more than {MAX_EXPANDED:,} characters "
                                                f"(allowed: at most {MAX_EXPANDED:,})", node.start_mark)
            self.expanded[id(node)] = size
        return node

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`, merged by the base class
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the base class says so
                continue
            if repeated:
                raise ConstructorError(None, None, f"key {shown(key)} appears twice in one mapping",
                                       key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_float(self, node):
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise ConstructorError(None, None, f"{node.value} is not a finite number (allowed: finite numbers)",
                                   node.start_mark)
        return value

    def construct_yaml_int(self, node):
        value = super().construct_yaml_int(node) if len(node.value) <= 80 else math.inf  # int() of a long string is slow
        if abs(value) > MAX_INT:
            raise ConstructorError(None, None, f"{shown(node.value, 30)} is too large (allowed: integers up to "
                                               f"{MAX_INT:.3g})", node.start_mark)
        return value


    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as e:  # 2024-13-45 looks like a date but is not one
            raise ConstructorError(None, None, f"{node.value} is not a date: {e}", node.start_mark) from None


_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _BoundedLoader.construct_yaml_timestamp)
_BoundedLoader.add_constructor("tag:yaml.org,2002:float", _BoundedLoader.construct_yaml_float)
_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)
