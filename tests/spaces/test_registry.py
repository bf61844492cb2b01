"""The one registry class: duplicates refused, unknown names answered alike everywhere."""

import pytest

from cosearch.optimizers import OPTIMIZERS
from objectives.workloads import MIXES, MODELS
from spaces import DATAFLOWS, PLATFORMS, SPACES
from spaces.registry import Registry, UnknownName


def test_lookup_and_refusals():
    sizes = Registry("size")
    sizes["b"], sizes["a"] = 2, 1
    assert sizes["a"] == 1 and list(sizes) == ["b", "a"] and "a" in sizes and "c" not in sizes
    with pytest.raises(ValueError, match="size 'a' is already registered; choose another name"):
        sizes["a"] = 3
    assert sizes["a"] == 1
    with pytest.raises(UnknownName) as error:
        sizes["c"]
    assert str(error.value) == "unknown size 'c' (allowed: a, b)"  # sorted, not quoted as a KeyError would be
    assert isinstance(error.value, ValueError) and isinstance(error.value, KeyError)
    assert sizes.get("c") is None and sizes.pop("c", None) is None and ["x"] not in sizes  # a dict's manners
    assert str(sizes.unknown("c", "or a file")) == "unknown size 'c' (allowed: a, b; or a file)"
    assert sizes.check("a") == "a"
    del sizes["a"]
    sizes["a"] = 3  # replaced only after removal
    assert sizes["a"] == 3


def test_decorator_registers_once():
    builders = Registry("builder")

    @builders.register("one")
    def one():
        return 1

    assert builders["one"] is one
    with pytest.raises(ValueError, match="builder 'one' is already registered"):
        builders.register("one")(lambda: 2)


@pytest.mark.parametrize("registry", [MODELS, MIXES, PLATFORMS, DATAFLOWS, SPACES, OPTIMIZERS],
                         ids=lambda r: r.what)
def test_every_registry_speaks_alike(registry):
    assert isinstance(registry, Registry) and len(registry) > 1
    with pytest.raises(ValueError) as error:
        registry["no_such_name"]
    assert str(error.value) == f"unknown {registry.what} 'no_such_name' (allowed: {', '.join(sorted(registry))})"
    name = next(iter(registry))
    with pytest.raises(ValueError, match=f"{registry.what} '{name}' is already registered"):
        registry[name] = registry[name]
