"""A blinded set-vs-set human evaluation (the paper's: "which set is more diverse, which holds
the best story"), from an evaluate run's samples to the statistics of the judgements.

- :mod:`.items` — ``make``: blinded items and the hidden key;
- :mod:`.page` — the self-contained annotation page;
- :mod:`.server` — ``serve``: the page on 127.0.0.1, judgements collected into one file;
- :mod:`.analysis` and :mod:`.statistics` — ``analyze`` (pure functions);
- :mod:`.potato` — ``export-potato``: the items as a Potato project.

``docs/human-eval.md`` walks through a whole study.
"""
