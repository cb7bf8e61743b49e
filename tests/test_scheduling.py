"""The parallel workers' schedule (tests/support/scheduling.py), run for real with pytest-xdist
on a small suite of its own: a ``one_worker`` file stays on one worker, other tests spread
over every worker, and a ``slow`` test collected last starts in the first half."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.support.scheduling import kept_on_one_worker

RECORD = """
import os, time
import pytest

def record(name):
    time.sleep(0.05)
    with open(os.environ["ORDER_FILE"], "a") as out:
        out.write(f"{name} {os.environ.get('PYTEST_XDIST_WORKER', '-')}\\n")
"""

CONFTEST = "from tests.conftest import pytest_collection_modifyitems, pytest_xdist_make_scheduler  # noqa: F401\n"


def _suite(root: Path) -> None:
    (root / "conftest.py").write_text(CONFTEST)
    (root / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow: long\n    one_worker: together\n")
    (root / "test_a_plain.py").write_text(
        RECORD + "".join(f"\ndef test_p{i}():\n    record('plain')\n" for i in range(24))
    )
    (root / "test_b_together.py").write_text(
        RECORD + "pytestmark = pytest.mark.one_worker\n"
        + "".join(f"\ndef test_t{i}():\n    record('together')\n" for i in range(8))
    )
    (root / "test_c_plain.py").write_text(
        RECORD + "".join(f"\ndef test_q{i}():\n    record('plain')\n" for i in range(24))
    )
    (root / "test_z_slow.py").write_text(RECORD + "\n@pytest.mark.slow\ndef test_long():\n    record('slow')\n")


def test_one_worker_files_stay_together_and_long_tests_start_early(tmp_path: Path) -> None:
    _suite(tmp_path)
    order = tmp_path / "order.txt"
    env = {**os.environ, "ORDER_FILE": str(order), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "3", "--dist", "load", "-p", "no:cacheprovider"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = [line.split() for line in order.read_text().splitlines()]
    assert len(runs) == 57
    together = {worker for name, worker in runs if name == "together"}
    assert len(together) == 1, runs
    plain = {worker for name, worker in runs if name == "plain"}
    assert len(plain) == 3, runs  # handed to whichever worker is free
    started = [name for name, _ in runs].index("slow")
    assert started < len(runs) / 2, (started, runs)


def test_only_a_file_level_one_worker_mark_keeps_a_file_together(tmp_path: Path) -> None:
    marked = tmp_path / "test_marked.py"
    marked.write_text("import pytest\npytestmark = [pytest.mark.one_worker]\n")
    per_test = tmp_path / "test_per_test.py"
    per_test.write_text("import pytest\n\n@pytest.mark.one_worker\ndef test_x():\n    pass\n")
    broken = tmp_path / "test_broken.py"
    broken.write_text("def (:\n")
    assert kept_on_one_worker(marked)
    assert not kept_on_one_worker(per_test)
    assert not kept_on_one_worker(broken)
