"""The queue's windowed model: the cursor follows its mention, removals keep the order."""

from __future__ import annotations

import pytest

from tui.queue_model import QueueModel
from tui.records import QueueRow


def model_of(ids: list[int], cursor: int = 0) -> tuple[QueueModel, int]:
    model = QueueModel()
    return model, model.replace(ids, cursor)


def test_replace_keeps_the_cursor_on_its_mention() -> None:
    model, _ = model_of([10, 20, 30])
    assert model.replace([5, 6, 10, 20, 30], cursor=1) == 3  # 20 moved down by two arrivals
    assert model.index_of(30) == 4 and 7 not in model and model.index_of(7) is None


def test_replace_with_the_cursor_mention_gone_stays_at_its_position() -> None:
    model, _ = model_of([10, 20, 30])
    assert model.replace([10, 30], cursor=1) == 1  # the next mention: auto-advance


@pytest.mark.parametrize("gone", [{20}, {10, 40}, set(range(0, 100, 2))])  # few and many
def test_remove_keeps_order_and_follows_the_cursor(gone: set[int]) -> None:
    ids = list(range(0, 100, 10)) + list(range(1, 100, 2))
    model, cursor = model_of(ids, cursor=ids.index(30))
    cursor = model.remove(gone | {999}, cursor)  # an id not in the view is ignored
    kept = [i for i in ids if i not in gone]
    assert model.ids == kept and model.members == set(kept)
    if 30 in gone:  # the same position: after deciding it, the next mention
        assert cursor == min(ids.index(30), len(kept) - 1)
    else:
        assert model.id_at(cursor) == 30


def test_removed_rows_are_forgotten() -> None:
    model, _ = model_of([1, 2])
    row = QueueRow(
        id=1,
        priority="normal",
        sla_due_at=None,
        source="demo",
        author="a",
        summary="t",
        action=None,
        claimed_by=None,
        status="new",
        deleted=False,
    )
    model.update({1: row})
    model.remove({1}, 0)
    assert model.row(1) is None and model.ids == [2]
