"""The hostile corpus (scripts/hostile-corpus.py) as tests, so CI runs every case (issue 29, item 7).

Each case builds its small input, runs ``python -m sepgan interpolate`` on it in a fresh
process with the bundled default model, as a user would, and checks what the case says
(the right output, or one ``error:`` line and exit 2, a ``note:`` where something is lost,
the input untouched). The cases live in the script, which also prints them as one table;
cases that need the ``ffmpeg`` command skip without it. About two minutes on 2 CPU cores.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "hostile-corpus.py"


def _corpus():
    spec = importlib.util.spec_from_file_location("hostile_corpus", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


corpus = _corpus()


@pytest.mark.slow
@pytest.mark.parametrize("case", corpus.CASES, ids=[case.name for case in corpus.CASES])
def test_hostile_input(tmp_path, case):
    if case.needs_ffmpeg and corpus.FFMPEG is None:
        pytest.skip("needs the ffmpeg command")
    corpus.run_case(case, tmp_path)
    run = case.result
    stderr = run.stderr[-1500:] if run else ""
    assert case.passed, f"{case.checked}: {case.problem} exit {run.code if run else '-'}; {stderr}"
