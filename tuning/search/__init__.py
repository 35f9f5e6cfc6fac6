"""The search: the loop that asks a backend for trials, has the evaluator fit them over seeds, and tells the outcome.

* :mod:`tuning.search.loop` - :func:`~tuning.search.loop.run_search`, resuming and recovery, Ctrl-C;
* :mod:`tuning.search.study_record` - what makes a stored study the same study, asked once per run;
* :mod:`tuning.search.workers` - one worker on a study: its lease and heartbeat, its limits
  (``--max-fits``, ``--until``), what ``tuning status`` says of every worker;
* :mod:`tuning.search.evaluator` - which (config, seed) fits a batch of trials still needs, sent
  to the runner, each result recorded the moment it arrives.

Racing (which seeds a config gets) and epoch-level pruning slot in here (docs/architecture.md).
"""
