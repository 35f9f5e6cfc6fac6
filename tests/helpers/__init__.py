"""Helpers the test modules share (imported as ``helpers.<module>``; ``tests/`` is on the path):

* :mod:`helpers.cli` - the real ``tuning`` command in a subprocess, a store's fits meanwhile;
* :mod:`helpers.fake_runner` - a runner without Keras, for loop, evaluator and store unit tests;
* :mod:`helpers.stores` - the tiny study's store shared by the report and plot tests;
* :mod:`helpers.fused_cases` - tiny problems and tasks for the fused-runner tests;
* :mod:`helpers.postgres` - a throwaway PostgreSQL server;
* :mod:`helpers.keras_calls` - a model's outputs without tracing a predict function.
"""
