"""The atheris harnesses run for a bounded time from their seeds; any crash (an exception other than BadFile
from the reader, any exception from the mail classifier, a broken invariant, a hang) fails the test and
leaves the input that caused it under the test's tmp_path."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

pytestmark = pytest.mark.slow

FUZZ = Path(__file__).resolve().parent
SECONDS = 12  # per harness; by hand: python tests/fuzz/fuzz_read.py -max_total_time=600


@pytest.mark.parametrize("harness", ["read", "mail"])
def test_the_harness_finds_no_crash_in_a_bounded_run(harness: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(FUZZ / "seeds" / harness, corpus)  # libFuzzer adds what it finds; the seeds stay clean
    result = subprocess.run(
        [sys.executable, str(FUZZ / f"fuzz_{harness}.py"), f"-max_total_time={SECONDS}", "-timeout=10",
         "-rss_limit_mb=1024", f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=SECONDS + 60, check=False)
    crashes = sorted(path.name for path in tmp_path.iterdir() if path.is_file())
    assert result.returncode == 0 and not crashes, f"{crashes}\n{result.stderr[-4000:]}"
    assert "Done" in result.stderr, result.stderr[-2000:]  # it really ran (libFuzzer's closing line)
