"""Model builders (tiny offline models for tests, examples and benchmarks)."""
