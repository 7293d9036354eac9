"""The fuzz harness in short: parse → ingest → render → compose over mutated and hostile mail.

`make fuzz` runs the same harness for minutes (tests/fuzz/run.py); this runs a few hundred
derandomized inputs from the fixtures and the known-bad seeds, so it is the same every time.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, example, given, settings

from tests.fuzz.pipeline import Harness, distinct
from tests.fuzz.run import main as run_fuzz
from tests.fuzz.seeds import fixture_seeds, known_bad_seeds
from tests.fuzz.strategies import FuzzInput, fuzz_inputs


def test_short_fuzz_run_finds_no_crash_anywhere_in_the_pipeline(tmp_path):
    harness = Harness(tmp_path)
    seeds = fixture_seeds() + known_bad_seeds()

    @settings(
        max_examples=300,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(fuzz_inputs(seeds))
    def explore(case: FuzzInput) -> None:
        harness.run(case)

    for seed in seeds:  # every seed once as it is, to the reports address, before mutations
        explore = example(FuzzInput(seed.raw, "rita@example.net", (("reports",),), seed.name))(
            explore
        )
    explore()
    harness.close()
    assert harness.tried >= 300 + len(seeds) and harness.rendered > 0
    crashes = distinct(harness.crashes)
    assert not crashes, "\n".join(f"{s}: {i[0].error} ({i[0].origin})" for s, i in crashes.items())


def test_make_fuzz_stops_on_time_and_says_what_it_tried(tmp_path, capsys):
    assert run_fuzz(["--seconds", "2", "--corpus", "0", "--out", str(tmp_path / "out")]) == 0
    output = capsys.readouterr().out
    assert "inputs tried: " in output and "crashes: " in output
