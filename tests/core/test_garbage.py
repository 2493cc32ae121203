"""An import pauses the process's cycle collector and gives it back as it found it (plugin/garbage.py)."""

from __future__ import annotations

import gc

import pytest

from plugin.garbage import batch_done, collector_paused


@pytest.fixture(autouse=True)
def collector_on():
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    gc.enable() if was_enabled else gc.disable()


def test_the_collector_runs_again_after_an_import_even_one_that_failed():
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("the import failed")
    assert gc.isenabled()


def test_two_imports_at_once_keep_it_paused_until_the_last_one_ends():
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_someone_turned_off_stays_off():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_garbage_cycles_a_batch_left_are_freed_when_the_batch_is_done():
    class Node:
        pass

    with collector_paused():
        gc.collect()
        for _ in range(1000):
            node = Node()
            node.itself = node  # a cycle reference counting never frees
        del node
        assert sum(type(thing) is Node for thing in gc.get_objects(0)) == 1000
        batch_done()
        assert not any(type(thing) is Node for thing in gc.get_objects())


def test_imports_that_never_stop_overlapping_still_get_full_collections(monkeypatch):
    monkeypatch.setattr("plugin.garbage.FULL_EVERY", 3)
    monkeypatch.setattr("plugin.garbage._batches", 0)
    collections = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: collections.append(generation) or 0)
    with collector_paused():
        for _ in range(6):
            batch_done()
    assert collections == [0, 0, 2, 0, 0, 2]
