"""How far an import is, as the progress bar, the API and the terminal say it: one computation (plugin.progress)."""

from __future__ import annotations

import pytest

from plugin.progress import at_most_every, measure_progress


def test_rows_a_second_and_time_left_come_from_the_rows_seen_and_the_time_since_the_start() -> None:
    progress = measure_progress(200, 300, elapsed=80.0)

    assert (progress.done, progress.total, progress.percent) == (200, 300, 66)
    assert progress.rows_per_second == pytest.approx(2.5)
    assert progress.seconds_left == 40  # 100 rows left at 2.5 rows a second
    assert progress.text == "66% · 200 of 300 rows · 2.5 rows/s · about 40 s left"


def test_the_time_left_counts_down_between_two_figures() -> None:
    assert measure_progress(120, 300, elapsed=40.0, since_measured=15.0).seconds_left == 45


def test_the_time_left_never_reaches_zero_while_rows_remain() -> None:
    progress = measure_progress(120, 300, elapsed=40.0, since_measured=600.0)

    assert progress.seconds_left == 1
    assert progress.eta_text == "about 1 s left"


@pytest.mark.parametrize(("done", "elapsed"), [(0, 30.0), (50, None), (50, 0.0)])
def test_it_says_estimating_until_the_first_figures_arrive(done: int, elapsed: float | None) -> None:
    progress = measure_progress(done, 300, elapsed=elapsed)

    assert progress.rows_per_second is None and progress.seconds_left is None
    assert progress.eta_text == "estimating…"
    assert progress.rate_text == ""
    assert "rows/s" not in progress.text


def test_long_waits_are_said_in_minutes_and_fast_rates_without_decimals() -> None:
    progress = measure_progress(1000, 100_000, elapsed=20.0)  # 50 rows a second: 1,980 s left

    assert progress.eta_text == "about 33 min left"
    assert progress.rate_text == "50 rows/s"


def test_a_running_import_stays_below_100_percent_and_a_finished_one_says_done() -> None:
    running = measure_progress(300, 300, elapsed=10.0)
    finished = measure_progress(300, 300, elapsed=10.0, is_finished=True)

    assert running.percent == 99 and running.eta_text == "finishing…"
    assert finished.percent == 100 and finished.eta_text == "done" and finished.text == "100% · 300 of 300 rows · done"


def test_the_api_object_carries_the_numbers_and_the_words() -> None:
    assert measure_progress(200, 300, elapsed=80.0).as_dict() == {
        "done": 200, "total": 300, "percent": 66, "eta_seconds": 40, "rows_per_second": 2.5,
        "rate_text": "2.5 rows/s", "eta_text": "about 40 s left",
        "text": "66% · 200 of 300 rows · 2.5 rows/s · about 40 s left"}


def test_a_step_inside_a_batch_is_heard_at_most_once_a_second_and_its_first_word_at_once() -> None:
    now = [0.0]
    heard: list[int] = []
    say = at_most_every(1.0, lambda done, _total: heard.append(done), clock=lambda: now[0])

    for done in range(1, 31):  # a row every 0.1 s for 3 s
        say(done, 30)
        now[0] += 0.1

    assert heard[0] == 1
    assert len(heard) == 3
