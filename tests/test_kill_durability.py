"""SIGKILL at random points in a run of mixed writes: nothing acknowledged is lost.

A short run of benchmarks/kill_durability.py (its long run's figures are in
docs/benchmarks.md). tests/test_durability.py covers concurrent writers and hand-made
interrupted edits; this one kills a single writer anywhere in its writes, background upkeep
included, and opens the store as a new process would.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "kill_durability", Path(__file__).resolve().parents[1] / "benchmarks" / "kill_durability.py")
assert _spec is not None and _spec.loader is not None
kill_durability = importlib.util.module_from_spec(_spec)
sys.modules["kill_durability"] = kill_durability  # dataclasses look their module up
_spec.loader.exec_module(kill_durability)


def test_sigkill_loses_no_acknowledged_write(tmp_path):
    trials = [kill_durability.run_trial(n, writes=150, seed=11, workdir=tmp_path)
              for n in range(3)]
    for t in trials:
        assert not t.error, t.error
        assert t.open_ok and not t.damage, t.damage
        assert t.lost == [], f"trial {t.trial}: acknowledged writes lost: {t.lost[:5]}"
    assert sum(t.acked for t in trials) >= 3  # the writers did work before the kills
    assert any(t.killed for t in trials)


def test_check_finds_a_write_that_is_not_there(tmp_path):
    """The same check, given acknowledgements the writer never made, reports each one."""
    forged = ("ack 900001 msg nosuchconv 0f0f0f0f tok-forged-msg",
              "ack 900002 passage 0e0e0e0e tok-forged-passage",
              "ack 900003 conv nosuchconv nosuchconv",
              "ack 900004 block k0 999999 tok-forged-block")
    t = kill_durability.run_trial(0, writes=40, seed=5, workdir=tmp_path, forged=forged)
    assert not t.error, t.error
    assert t.open_ok
    assert len(t.lost) == 5, t.lost  # four forged writes, and k0's value older than 999999
    assert any("block k0: value at version" in item for item in t.lost)
