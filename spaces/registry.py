"""Name → entry registries: workloads, platforms, dataflows, spaces, optimizers.

Every registry of the project is a :class:`Registry`, so all of them refuse
a name registered twice and answer an unknown name alike::

    unknown platform 'tpu' (allowed: cloud, edge, mobile, u250, zcu102)

The error is an :class:`UnknownName`, both a ``ValueError`` (what user input
errors are: the CLI prints them and exits 2) and a ``KeyError`` (what a
mapping raises, so ``in``, ``get`` and ``pop`` behave as on a dict).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Generic, TypeVar

from spaces.userfiles import shown

T = TypeVar("T")


class UnknownName(KeyError, ValueError):
    """A name a registry does not hold; the message lists the names it does."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


class Registry(MutableMapping[str, T], Generic[T]):
    """Entries by name, in registration order; ``what`` names an entry in messages ("platform")."""

    def __init__(self, what: str):
        self.what = what
        self._entries: dict[str, T] = {}

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name from a config
            raise self.unknown(name) from None

    def __setitem__(self, name: str, entry: T) -> None:
        """Add ``entry``; a name already taken is refused (remove it first to replace it)."""
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is already registered; choose another name")
        self._entries[name] = entry

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._entries
        except TypeError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}: {', '.join(self._entries)})"

    def register(self, name: str) -> Callable[[T], T]:
        """A decorator adding the decorated object under ``name``."""

        def decorator(entry: T) -> T:
            self[name] = entry
            return entry

        return decorator

    @property
    def names(self) -> str:
        """The registered names, sorted, as messages list them."""
        return ", ".join(sorted(self._entries))

    def unknown(self, name: object, otherwise: str = "") -> UnknownName:
        """The error for ``name``; ``otherwise`` adds what else the user may give ("or file: a platform YAML")."""
        also = f"; {otherwise}" if otherwise else ""
        return UnknownName(f"unknown {self.what} {shown(name)} (allowed: {self.names}{also})")

    def check(self, name: str, otherwise: str = "") -> str:
        """``name`` if registered, else the :meth:`unknown` error (for config validators)."""
        if name not in self:
            raise self.unknown(name, otherwise)
        return name
