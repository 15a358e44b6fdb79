"""documents.direct_constructor: the parser's fast constructor makes the same objects as the dataclass."""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError, dataclass

import pytest

from govnlp.documents import Figure, Measure, Paragraph, direct_constructor


def test_direct_objects_equal_hash_and_serialise_as_the_dataclass() -> None:
    kw = {"id": "p-1", "index": 2, "role": "body", "section": "一", "problem": None, "text": "加快改造。"}
    made, direct = Paragraph(**kw, measures=("m-1",)), direct_constructor(Paragraph)(**kw, measures=("m-1",))
    assert direct == made and hash(direct) == hash(made) and type(direct) is Paragraph
    assert direct.to_dict() == made.to_dict()
    assert pickle.loads(pickle.dumps(direct)) == made and copy.deepcopy(direct) == made
    with pytest.raises(FrozenInstanceError):
        direct.text = "改"  # type: ignore[misc]
    fig = direct_constructor(Figure)(value=39.3, unit="%", text="压减39.3%")
    assert fig == Figure(39.3, "%", "压减39.3%") and repr(fig) == repr(Figure(39.3, "%", "压减39.3%"))
    m = direct_constructor(Measure)(
        id="m-1", section=None, problem=None, ordinal="一是", title="t", text="一是t", figures=(fig,)
    )
    assert Measure.from_dict(m.to_dict()) == m


def test_direct_constructor_refuses_missing_or_unknown_fields_and_post_init() -> None:
    new_figure = direct_constructor(Figure)
    with pytest.raises(TypeError, match="exactly the fields"):
        new_figure(value=1.0, unit="%")  # text missing: the dataclass default would not be applied
    with pytest.raises(TypeError, match="exactly the fields"):
        new_figure(value=1.0, unit="%", text="1%", txet="typo")

    @dataclass(frozen=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            if self.x < 0:
                raise ValueError("x")

    with pytest.raises(TypeError, match="__post_init__"):
        direct_constructor(Checked)
