"""Layer tables as CSV/YAML files: exact round trips and errors that point at the cell."""

import re

import numpy as np
import pytest

from objectives.workloads import MODELS, ModelBuilder, Op, get_model
from objectives.workloads.files import LayerTableError, export_model, load_model, save_model


@pytest.mark.parametrize("suffix", [".csv", ".yaml"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_zoo_model_reads_back_identical(tmp_path, name, suffix):
    model = get_model(name)
    back = load_model(save_model(model, tmp_path / f"{name}{suffix}"))
    assert back == model
    assert back.extra_params == model.extra_params
    assert back.params == model.params


def test_export_model_writes_a_zoo_model(tmp_path):
    path = export_model("mobilenet_v1", tmp_path / "m.csv")
    text = path.read_text()
    assert text.startswith("# name: mobilenet_v1\n# extra_params: 22888\nname,op,N,G,K,C,Y,X,R,S,stride,dilation,preds\n")
    assert "conv1.dw,dwconv,1,32,1,1,112,112,3,3,1,1,conv0\n" in text
    with pytest.raises(ValueError, match="unknown model 'resnet51' \\(allowed: .*resnet50"):
        export_model("resnet51", tmp_path / "x.csv")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_hand_written_csv_uses_defaults_and_reads_dags(tmp_path):
    path = write(tmp_path, "block.csv", """\
# A residual block with a depthwise stage, written by hand.
name, op, K, C, Y, R, stride, preds
stem, conv, 16, 3, 112, 3, 2,
dw, dwconv, 16, , 112, 3, 1, stem

pw, pwconv, 16, 16, 112, 1, 1, dw
fc, fc, 10, 16, , , , pw;stem
""")
    model = load_model(path)
    assert model.name == "block"  # no "# name:" line: the file's stem
    assert model.layer_names == ("stem", "dw", "pw", "fc")
    assert model.op.tolist() == [Op.CONV, Op.DWCONV, Op.PWCONV, Op.GEMM]
    assert model.dims.tolist() == [
        [1, 1, 16, 3, 112, 112, 3, 3],
        [1, 16, 1, 1, 112, 112, 3, 3],  # dwconv without G: K channels become G = 16, K = C = 1
        [1, 1, 16, 16, 112, 112, 1, 1],
        [1, 1, 10, 16, 1, 1, 1, 1],  # gemm: X defaults to 1, not Y
    ]
    assert model.dilation.tolist() == [1, 1, 1, 1]
    assert model.preds == ((), (0,), (1,), (0, 2))
    b = ModelBuilder("block")
    b.conv("stem", k=16, c=3, y=112, r=3, stride=2)
    b.dwconv("dw", channels=16, y=112, r=3)
    b.conv("pw", k=16, c=16, y=112, r=1)
    b.gemm("fc", k=10, c=16, after=(2, 0))
    assert model == b.build()


def test_yaml_accepts_preds_as_list_or_string_and_orders_topologically(tmp_path):
    path = write(tmp_path, "m.yml", """\
name: att
layers:
  - {name: ctx, op: matmul, N: 12, K: 64, C: 128, Y: 128, preds: [scores, v]}
  - {name: scores, op: matmul, N: 12, K: 128, C: 64, Y: 128, preds: "q;k"}
  - {name: q, op: gemm, K: 768, C: 768, Y: 128}
  - {name: k, op: gemm, K: 768, C: 768, Y: 128}
  - {name: v, op: gemm, K: 768, C: 768, Y: 128}
""")
    model = load_model(path)
    assert model.layer_names == ("q", "k", "scores", "v", "ctx")
    assert model.preds == ((), (), (0, 1), (), (2, 3))
    assert model.macs.tolist() == [768 * 768 * 128] * 2 + [12 * 128 * 64 * 128, 768 * 768 * 128, 12 * 128 * 64 * 128]
    assert model.params == 3 * 768 * 768


HEADER = "name,op,N,K,C,Y,X,R,S,stride,groups,preds\n"  # the legacy form, K counting all groups


@pytest.mark.parametrize(
    "body, message",
    [
        ("a,conv,1,abc,3,8,8,3,3,1,1,\n", "line 2 (layer 'a'), column K: 'abc' is not a positive integer"),
        ("a,conv,1,8,3,0,8,3,3,1,1,\n", "line 2 (layer 'a'), column Y: '0' is not a positive integer"),
        ("a,conv,1,8,3,8,8,3,3,1.5,1,\n", "column stride: '1.5' is not a positive integer"),
        ("a,cnv,1,8,3,8,8,3,3,1,1,\n", "column op: 'cnv' is not an op (allowed: conv, dwconv, fc, gemm, lstm"),
        ("a,conv,1,8,3,8,8,3,3,1,3,\n", "column groups: 3 does not divide K=8 (allowed: a divisor of K)"),
        ("a,dwconv,1,8,2,8,8,3,3,1,8,\n", "column C: 2 for a dwconv layer (allowed: 1,"),
        ("a,conv,1,8,,8,8,3,3,1,1,\n", "line 2 (layer 'a'), column C: is required for op 'conv'"),
        (",conv,1,8,3,8,8,3,3,1,1,\n", "line 2, column name: is required"),
        ("a,conv,1,8,3,8,8,3,3,1,1,\nb,conv,1,8,8,8,8,3,3,1,1,aa\n",
         "line 3 (layer 'b'), column preds: unknown layer 'aa' (did you mean 'a'"),
        ("a,conv,1,8,3,8,8,3,3,1,1,\na,conv,1,8,8,8,8,3,3,1,1,a\n",
         "line 3 (layer 'a'), column name: duplicate layer name (first at line 2)"),
        ("a,conv,1,8,3,8,8,3,3,1,1,b\nb,conv,1,8,8,8,8,3,3,1,1,a\n", "model 'm', layer 'a': dependency cycle"),
        ("a,conv,1,8,3,8,8,3,3,1,1,,x\n", "line 2: 13 cells but the header has 12 columns"),
        ("a,conv,1,8,3,8,8\n", "line 2, column R: 7 cells but the header has 12 columns (leave a cell empty"),
        ("a,gemm,1,1e26,3,8,1,1,1,1,1,\n", "line 2 (layer 'a'), column K: '1e26' is not a positive integer"),
        ("a,gemm,1," + "1" * 27 + ",3,8,1,1,1,1,1,\n", "line 2 (layer 'a'), columns N,G,K,C,Y,X,R,S: dimensions N=1, G=1, K=1"),
        ("a,conv,1,3000000,3000000,3000000,3000000,1,1,1,1,\n", "columns N,G,K,C,Y,X,R,S: dimensions N=1, G=1, K=3000000"),
    ],
)
def test_csv_errors_name_file_line_layer_column_and_value(tmp_path, body, message):
    path = write(tmp_path, "m.csv", HEADER + body)
    with pytest.raises(LayerTableError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_legacy_groups_files_load_converted_and_save_in_the_g_form(tmp_path):
    legacy = write(tmp_path, "old.csv", HEADER + """\
stem,conv,1,32,3,56,56,3,3,2,1,
grouped,conv,1,64,8,56,56,3,3,1,4,stem
dw,dwconv,1,64,1,56,56,3,3,1,64,grouped
""")
    model = load_model(legacy)
    assert model.dims.tolist() == [
        [1, 1, 32, 3, 56, 56, 3, 3],
        [1, 4, 16, 8, 56, 56, 3, 3],  # groups 4 of K = 64 total: 16 per group
        [1, 64, 1, 1, 56, 56, 3, 3],
    ]
    assert model.params == 32 * 3 * 9 + 64 * 8 * 9 + 64 * 9
    text = save_model(model, tmp_path / "new.csv").read_text()
    assert "groups" not in text and "grouped,conv,1,4,16,8,56,56,3,3,1,1,stem\n" in text
    assert load_model(tmp_path / "new.csv") == model
    yaml_legacy = write(tmp_path, "old.yaml", "layers:\n  - {name: g, op: conv, K: 64, C: 8, Y: 8, R: 3, groups: 4}\n")
    assert load_model(yaml_legacy).dims.tolist() == [[1, 4, 16, 8, 8, 8, 3, 3]]


@pytest.mark.parametrize(
    "body, message",
    [
        ("a,conv,1,4,16,8,8,8,3,3,1,1,4,\n", "column groups: 4 given with G=4 (allowed: G with K per group, or the"),
        ("a,dwconv,1,8,2,1,8,8,3,3,1,1,,\n", "column K: 2 for a dwconv layer with G=8 (allowed: 1,"),
        ("a,conv,1,1,8,3,8,8,3,3,1,0,,\n", "column dilation: '0' is not a positive integer"),
    ],
)
def test_g_form_errors(tmp_path, body, message):
    path = write(tmp_path, "g.csv", "name,op,N,G,K,C,Y,X,R,S,stride,dilation,groups,preds\n" + body)
    with pytest.raises(LayerTableError, match=re.escape(message)):
        load_model(path)


def test_header_and_format_errors(tmp_path):
    with pytest.raises(ValueError, match="header: 'Q' is not a column \\(allowed: name, op, N, G, K, C, Y, X, R, S, stride, dilation, preds, groups"):
        load_model(write(tmp_path, "q.csv", "name,op,K,C,Q\n"))
    with pytest.raises(ValueError, match="header: column K is required"):
        load_model(write(tmp_path, "k.csv", "name,op,C\n"))
    with pytest.raises(ValueError, match="m.txt: unknown layer table format '.txt' \\(allowed: .csv, .yaml, .yml"):
        load_model(write(tmp_path, "m.txt", ""))
    with pytest.raises(ValueError, match="cannot read: "):
        load_model(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="has no layers"):
        load_model(write(tmp_path, "e.csv", HEADER))


def test_yaml_errors_name_the_key_path(tmp_path):
    with pytest.raises(LayerTableError, match="layers.1 \\(layer 'b'\\), column Q: is not a column \\(allowed: name"):
        load_model(write(tmp_path, "a.yaml", "layers:\n  - {name: a, op: gemm, K: 4, C: 4}\n"
                                             "  - {name: b, op: gemm, K: 4, C: 4, Q: 1}\n"))
    with pytest.raises(LayerTableError, match="b.yaml: layer: is not a key \\(allowed: name, extra_params, layers\\)"):
        load_model(write(tmp_path, "b.yaml", "layer: []\n"))
    with pytest.raises(LayerTableError, match="c.yaml: extra_params: -3 is not a non-negative integer"):
        load_model(write(tmp_path, "c.yaml", "extra_params: -3\nlayers: [{name: a, op: gemm, K: 4, C: 4}]\n"))
    with pytest.raises(LayerTableError, match="d.yaml: layers.0: expected a mapping of columns"):
        load_model(write(tmp_path, "d.yaml", "layers: [a]\n"))


def test_save_refuses_names_csv_cannot_hold(tmp_path):
    b = ModelBuilder("m")
    b.gemm("a;b", k=4, c=4)
    model = b.build()
    with pytest.raises(ValueError, match="cannot be written to CSV .*save as .yaml instead"):
        save_model(model, tmp_path / "m.csv")
    assert load_model(save_model(model, tmp_path / "m.yaml")) == model
    assert np.array_equal(load_model(tmp_path / "m.yaml").dims, model.dims)
