"""What a running study shows: the bars count trials and seeds, each trial gets one line, markup is escaped."""

from __future__ import annotations

import io

from rich.console import Console

from tuning.progress import RichReporter, SilentReporter, config_summary
from tuning.results import OK, FitResult, TrialResult


def recording_reporter() -> tuple[RichReporter, io.StringIO]:
    reporter = RichReporter()
    out = io.StringIO()
    reporter.console = Console(file=out, width=120, force_terminal=False, color_system=None)
    reporter.progress.console.file = out  # the bars and the trial lines go to the same place
    reporter.progress.live.console = reporter.console
    return reporter, out


def trial(number_of_seeds: int, value: float | None, failure: str | None = None) -> TrialResult:
    fits = [FitResult("k", s, OK, {"val_loss": 0.1 * (s + 1)}) for s in range(number_of_seeds)]
    return TrialResult({"units": 2}, "k", fits, "val_loss", value, failure)


def test_rich_reporter_counts_trials_and_seeds_and_prints_a_line_per_trial():
    reporter, out = recording_reporter()
    reporter.start("demo", planned=3, finished=1, fits_stored=2)
    reporter.trial_started(4, "units=2", n_seeds=2)
    reporter.trial_started(5, "units=[bold]3", n_seeds=2)  # two trials in flight share the seeds bar
    seeds = reporter.progress.tasks[reporter.seeds_task]
    assert seeds.total == 4 and seeds.visible and "trial 4, 5" in seeds.description
    for seed in range(2):
        reporter.fit_done(FitResult("k", seed, OK), reused=seed == 0)
    reporter.trial_done(4, trial(2, 0.15))
    reporter.trial_done(5, trial(2, None, "seed 1 diverged [at epoch 3]"))
    reporter.trial_done(6, trial(1, 0.1))  # one seed: no spread, as tuning status says it
    reporter.note("recovered interrupted trial(s) 2")
    reporter.stop()
    assert reporter.progress.tasks[reporter.trials_task].completed == 4
    assert reporter.progress.tasks[reporter.seeds_task].completed == 2
    text = out.getvalue()
    assert "study demo: 1/3 trials done, 2 fits stored (a trial fits only the seeds it has not stored)" in text
    assert "trial 4: val_loss 0.15 ± 0.071 (n=2)  units=2" in text
    assert "trial 5: failed seed 1 diverged [at epoch 3]" in text  # rich markup in a message is shown, not applied
    assert "trial 6: val_loss 0.1 ± – (n=1)" in text
    assert "recovered interrupted trial(s) 2" in text


def test_in_a_log_each_trial_is_one_line_and_a_line_tells_how_far_the_run_is():
    """stderr to a file (nohup, a batch job): trial lines were cut at 80 columns, so `grep '^trial'`
    lost their configs, and a grid race printed nothing for minutes (its trials end together)."""
    reporter, out = recording_reporter()
    reporter.console.width = reporter.progress.console.width = 40
    reporter.log_every = 3600.0
    reporter.start("demo", planned=240, finished=0, fits_stored=0)
    label = "batch_size=64 initializer=lecun_uniform learning_rate=0.03 units=3"
    for number in range(3):
        reporter.trial_started(number, label, n_seeds=3)
    reporter.fit_done(FitResult("k", 0, OK), reused=False)
    reporter.fit_done(FitResult("k", 2, OK), reused=True)  # stored before: not run by this run
    assert "progress:" not in out.getvalue()  # not yet a log_every since the start
    reporter.log_every = 0.0
    reporter.fit_done(FitResult("k", 1, OK), reused=False)
    reporter.trial_done(0, trial(3, 0.15))
    reporter.stop()
    lines = out.getvalue().splitlines()
    assert "progress: 2 new fits; 0/240 trials done, 3 running" in lines
    assert f"trial 0: val_loss 0.2 ± 0.1 (n=3)  {label}" in lines
    assert lines[0] == "study demo: 0/240 trials done, 0 fits stored"


def test_the_seeds_bar_names_the_first_trials_in_flight_and_counts_the_rest():
    """A grid race keeps its whole plan in flight: the bar's description listed all 240 numbers."""
    reporter, _ = recording_reporter()
    reporter.start("demo", planned=240, finished=0, fits_stored=0)
    for number in range(240):
        reporter.trial_started(number, "units=1", n_seeds=3)
    description = reporter.progress.tasks[reporter.seeds_task].description
    assert description == "seeds  trial 0, 1, 2, 3, 4, 5, 6, 7 and 232 more"
    reporter.stop()


def test_silent_reporter_takes_every_hook_and_says_nothing(capsys):
    reporter = SilentReporter()
    reporter.start("demo", 1, 0, 0)
    reporter.trial_started(0, "units=1", 1)
    reporter.fit_done(FitResult("k", 0, OK), reused=False)
    reporter.trial_done(0, trial(1, 0.1))
    reporter.note("x")
    reporter.stop()
    assert capsys.readouterr() == ("", "")


def test_config_summary_is_short_and_keeps_the_order_asked_for():
    config = {"units": [10, 20], "learning_rate": 0.00123456, "cell": "gru", "dropout": 0.0}
    assert config_summary(config, ["learning_rate", "units", "missing"]) == "learning_rate=0.001235 units=[10,20]"
    assert config_summary({"cell": "lstm"}) == "cell=lstm"
