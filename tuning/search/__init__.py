"""The search: a study's loop, the evaluator that fits each config once per seed, and their policies."""
