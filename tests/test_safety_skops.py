"""Loading a classifier never runs code from the folder: skops files are loaded against an exact list of
the types govnlp saves (issue 9, item 1)."""

from __future__ import annotations

import itertools
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from govnlp.classify import TextClassifier
from govnlp.classify.methods.base import SKOPS_TYPES, load_skops
from govnlp.classify.methods.embedding import EmbeddingMethod
from govnlp.classify.methods.tfidf import TfidfMethod
from govnlp.cli import main
from govnlp.embedders import load_embedder
from govnlp.errors import FormatError, GovnlpError

# (module, callable) of three constructors that run a string of Python when skops calls them
PAYLOADS = [
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("numpy.testing._private.utils", "runstring"),
]

TEXTS = [
    "小区停车位被占用，请处理",
    "小区停车难，车位太少",
    "夜间施工噪音扰民",
    "工地施工噪音太大",
    "学校学位不足，孩子上学难",
    "希望增加幼儿园学位",
    "道路破损坑洼需要维修",
    "路面坑洼，雨天积水",
] * 3


def _json_node(value: Any) -> dict[str, Any]:
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


def write_payload(path: Path, module: str, name: str, marker: Path) -> None:
    """A hand-built .skops whose root is ``module.name(code)``: the code would create ``marker``."""
    args = [_json_node(f"open({str(marker)!r}, 'w').write('ran')")]
    if name == "runstring":
        args.append(_json_node({}))  # runstring(code, globals)
    schema = {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": {
            "__class__": "tuple",
            "__module__": "builtins",
            "__loader__": "TupleNode",
            "content": args,
        },
        "protocol": 2,
        "_skops_version": "0.16.0",
    }
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("schema.json", json.dumps(schema))


def _schema_types(node: Any, out: set[str]) -> set[str]:
    """Every ``module.class`` named in a skops schema."""
    if isinstance(node, dict):
        if "__module__" in node and "__class__" in node:
            out.add(f"{node['__module__']}.{node['__class__']}")
        for value in node.values():
            _schema_types(value, out)
    elif isinstance(node, list):
        for value in node:
            _schema_types(value, out)
    return out


@pytest.fixture(scope="module")
def saved_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    labels = ["停车", "停车", "噪音", "噪音", "教育", "教育", "道路", "道路"] * 3
    path = tmp_path_factory.mktemp("clf") / "tagger"
    TextClassifier("tfidf", random_state=0).fit(TEXTS, labels).save(path)
    return path


def _methods() -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [
        (f"tfidf-{an}-{head}", lambda an=an, head=head: TfidfMethod(analyzer=an, head=head))
        for an, head in itertools.product(("word+char", "char", "word"), ("svm", "logreg"))
    ]
    out.append(("embedding", lambda: EmbeddingMethod(load_embedder("hash", dim=32))))
    return out


@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize(("name", "make"), _methods(), ids=[n for n, _ in _methods()])
def test_fresh_saves_need_only_the_allow_list(tmp_path: Path, name: str, make: Any, multilabel: bool) -> None:
    import skops.io as sio

    y = np.array([0, 0, 1, 1, 2, 2, 3, 3] * 3)
    target = np.eye(4, dtype=int)[y] if multilabel else y
    if multilabel:
        target[0, 1] = 1
    method = make()
    method.fit(method.prepare(TEXTS), target, n_classes=4, multilabel=multilabel)
    method.save(tmp_path)
    path = tmp_path / "pipeline.skops"
    assert set(sio.get_untrusted_types(file=path)) <= SKOPS_TYPES
    schema = json.loads(zipfile.ZipFile(path).read("schema.json"))
    assert _schema_types(schema, set()) <= SKOPS_TYPES, name
    assert load_skops(path) is not None


def test_allow_list_is_exact_names_not_prefixes() -> None:
    assert all(t.count(".") >= 1 and not t.endswith(".") for t in SKOPS_TYPES)
    assert not {"builtins.eval", "builtins.exec", "numpy.testing._private.utils.runstring"} & SKOPS_TYPES


@pytest.mark.parametrize(("module", "name"), PAYLOADS)
def test_payload_does_not_run_in_load_skops(tmp_path: Path, module: str, name: str) -> None:
    marker = tmp_path / "marker"
    write_payload(tmp_path / "evil.skops", module, name, marker)
    with pytest.raises(FormatError, match=name):
        load_skops(tmp_path / "evil.skops")
    assert not marker.exists()


@pytest.mark.parametrize(("module", "name"), PAYLOADS)
def test_payload_does_not_run_in_classifier_load(
    saved_classifier: Path, tmp_path: Path, module: str, name: str
) -> None:
    import shutil

    folder = tmp_path / "shared-tagger"
    shutil.copytree(saved_classifier, folder)
    marker = tmp_path / "marker"
    write_payload(folder / "member0" / "pipeline.skops", module, name, marker)
    with pytest.raises(GovnlpError, match="never saves"):
        TextClassifier.load(folder)
    assert not marker.exists()


@pytest.mark.parametrize(("module", "name"), PAYLOADS)
def test_payload_does_not_run_in_cli_tag(
    saved_classifier: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], module: str, name: str
) -> None:
    import shutil

    folder = tmp_path / "shared-tagger"
    shutil.copytree(saved_classifier, folder)
    marker = tmp_path / "marker"
    write_payload(folder / "member0" / "pipeline.skops", module, name, marker)
    assert main(["-q", "tag", str(folder), "小区停车难"]) == 2
    err = capsys.readouterr().err
    assert not marker.exists()
    assert "never saves" in err and len(err.strip().splitlines()) == 1


def test_pickle_renamed_to_skops_is_a_clear_error(saved_classifier: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "tagger"
    shutil.copytree(saved_classifier, folder)
    (folder / "member0" / "pipeline.skops").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(FormatError, match="not a skops file"):
        TextClassifier.load(folder)


def test_saved_classifier_still_loads_and_predicts(saved_classifier: Path) -> None:
    clf = TextClassifier.load(saved_classifier)
    assert clf.predict(["小区停车位太少"])[0] == "停车"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("thresholds", ["x", "y", "z", "w"]),
        ("members", "oops"),
        ("classes", 5),
        ("params", {"calibration_folds": "x"}),
    ],
)
def test_hand_edited_manifest_values_are_format_errors(
    saved_classifier: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: Any
) -> None:
    import shutil

    folder = tmp_path / "tagger"
    shutil.copytree(saved_classifier, folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest[key] = value
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(FormatError, match="edited by hand"):
        TextClassifier.load(folder)
    assert main(["-q", "tag", str(folder), "小区停车难"]) == 2
    err = capsys.readouterr().err
    assert "edited by hand" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("folder", ["../outside", "..", "a/b", "/etc", ""])
def test_member_folder_outside_the_classifier_is_refused(
    saved_classifier: Path, tmp_path: Path, folder: str
) -> None:
    """A hand-edited member folder must not make load read files outside the classifier folder."""
    import shutil

    root = tmp_path / "tagger"
    shutil.copytree(saved_classifier, root)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    manifest["members"][0]["folder"] = folder
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(FormatError, match="plain sub-folder"):
        TextClassifier.load(root)
