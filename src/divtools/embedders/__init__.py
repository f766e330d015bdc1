"""Embedders: texts -> L2-normalised float32 vectors (registered by
:mod:`divtools.builtins.embedders`).

- :mod:`~divtools.embedders.sentence_transformer`: any sentence-transformers model, and the
  offline ``minilm`` default (a stand-in for the paper's jina-embeddings-v3 and
  AnnaWegmann/Style-Embedding);
- :mod:`~divtools.embedders.stylometric`: model-free style features;
- :mod:`~divtools.embedders.tfidf`: scikit-learn TF-IDF.

Use :func:`divtools.embed_cache.cached_encode` to go through the on-disk cache. Importing this
package imports neither torch nor sentence-transformers.
"""
