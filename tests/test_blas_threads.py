"""podkit asks OpenBLAS for one thread: its threads only spin against the encoder.

Checked in fresh interpreters, as a producer's `podkit build` starts: OpenBLAS reads its
thread count once, when numpy is first imported, so only a new process can show it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

_PROBE = """
import json, toolkit, numpy, scipy.signal
from threadpoolctl import threadpool_info
print(json.dumps(sorted({i["num_threads"] for i in threadpool_info()
                         if i["internal_api"] == "openblas"})))
"""


def _openblas_threads(**env: str) -> list[int]:
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", _PROBE], env={**clean, **env},
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def test_importing_podkit_before_numpy_gives_openblas_one_thread() -> None:
    assert _openblas_threads() == [1]


def test_a_producers_own_thread_count_wins() -> None:
    assert _openblas_threads(OPENBLAS_NUM_THREADS="2") == [2]
