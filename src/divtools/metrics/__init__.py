"""Metric implementations (registered by :mod:`divtools.builtins.metrics`).

Every metric answers one group (the responses to one prompt) with a
:class:`~divtools.api.GroupResult`:

- ``deviation``: one float per text, **higher = more different from the other texts of the group,
  for every metric**, whatever the direction of its diversity value. It is the DDPO/DORPO
  training signal (docs/method.md §3); only its order and spacing within a group matter there.
- ``diversity``: the group's value under the metric's published formula. Its direction is the
  class attribute ``higher_is_more_diverse`` (False for self-BLEU, homogenization, compression
  ratio and self-repetition, whose published values grow with repetition).

Groups with fewer than two texts: deviation is all zeros (there is no other text to differ
from); diversity is whatever the formula gives for one text, or NaN where it is undefined
(pairwise metrics).

Degenerate text, one rule for every metric (:func:`divtools.api.measure_groups`, which every
caller goes through): a group holding an empty or token-less text (no letter or digit, e.g.
``""`` or ``"!!!"``) gets diversity NaN and NaN deviations, flagged ``degenerate``; it is never
scored. Cosine and kernel distances are clipped at 0. See docs/metrics.md.

Importing this package imports nothing heavy; each module imports numpy
only, and embedding metrics import their embedder lazily.
"""
