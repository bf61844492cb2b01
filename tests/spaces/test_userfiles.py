"""The bounded reader every user file goes through: each refusal, and what it still reads."""

import pytest

from spaces import userfiles
from spaces.userfiles import InputFileError, parse_yaml, read_text

# Nine levels of nine aliases: 400 bytes that stand for 9**9 strings.
ALIAS_BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{key}: &{key} [{', '.join([f'*{below}'] * 9)}]\n" for below, key in zip("abcdefg", "bcdefgh")
) + "description: [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"


def test_plain_yaml_reads_as_before():
    text = "a: &base {b: 1, c: [x, 2.5, 2024-01-31]}\nd: *base\ne: {<<: *base, b: 2}\nf: 12\n"
    data = parse_yaml(text)
    assert data["d"] == data["a"] == {"b": 1, "c": ["x", 2.5, __import__("datetime").date(2024, 1, 31)]}
    assert data["e"]["b"] == 2 and data["f"] == 12
    assert parse_yaml("") is None


@pytest.mark.parametrize("text, message", [
    ("a: 1\nb: 2\na: 3\n", "at line 3, column 1: key 'a' appears twice in one mapping"),
    ("a: [1, .inf]\n", "at line 1, column 8: .inf is not a finite number"),
    ("a: {b: -.Inf}\n", "-.Inf is not a finite number"),
    ("a: .nan\n", ".nan is not a finite number"),
    ("pes: " + "1" + "0" * 29 + "\n", "is too large (allowed: integers up to 9.22e+18)"),
    ("a: " + "9" * 5000 + "\n", "is too large"),
    ("a: 2024-13-45\n", "2024-13-45 is not a date"),
    ("a: &x [1, *x]\n", "alias *x refers to a collection that contains it"),
    ("a: *nowhere\n", "found undefined alias"),
    ("a: " + "[" * 500 + "]" * 500 + "\n", f"nested deeper than {userfiles.MAX_DEPTH} levels"),
    ("a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 500)), "nested deeper than"),
    ("a: [" + "1, " * (userfiles.MAX_NODES + 1) + "]\n", f"more than {userfiles.MAX_NODES:,} values"),
    (ALIAS_BOMB, "aliases expand this value to more than"),
    ("a: [1\nb", "not valid YAML"),
    ("\x00\x01binary", "not valid YAML"),
])
def test_bad_yaml_is_one_short_message(text, message):
    with pytest.raises(InputFileError) as error:
        parse_yaml(text)
    assert message in str(error.value)
    assert len(str(error.value)) < 300


def test_alias_bomb_is_refused_in_bounded_memory():
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(InputFileError, match="at line 6, column 4: aliases expand"):
            parse_yaml(ALIAS_BOMB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10e6
    # Aliases within the bound still read (shared, as PyYAML shares them).
    small = parse_yaml("a: &a [1, 2]\nb: [*a, *a, *a]\n")
    assert small["b"] == [[1, 2]] * 3


def test_text_must_be_utf8_and_small(tmp_path):
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("workload: vision\ndescription: caf\u00e9 au lait\n".encode("latin-1"))
    with pytest.raises(InputFileError, match=r"not UTF-8 text: byte 0xe9 at offset 33 \(line 2, column 17\)"):
        read_text(latin1)
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(InputFileError, match="not UTF-8 text: byte 0x80 at offset 0 \\(line 1, column 1\\)"):
        read_text(garbage)
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * userfiles.MAX_FILE_BYTES)
    with pytest.raises(InputFileError, match="larger than 1,048,576 bytes"):
        read_text(big)
    with pytest.raises(InputFileError, match="cannot read: Is a directory"):
        read_text(tmp_path)
    with pytest.raises(InputFileError, match="cannot read: No such file"):
        read_text(tmp_path / "absent.yaml")
    (tmp_path / "ok.yaml").write_text("description: caf\u00e9\n", encoding="utf-8")
    assert parse_yaml(read_text(tmp_path / "ok.yaml")) == {"description": "caf\u00e9"}


def test_shown_is_short_whatever_the_value():
    nested = [[["x" * 10**6] * 1000] * 1000] * 1000  # a billion strings by reference
    assert len(userfiles.shown(nested)) < 200
    assert userfiles.shown("abc") == "'abc'"
    assert len(userfiles.shown("y" * 10**6)) <= 64
