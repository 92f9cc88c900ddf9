"""Benchmarks run as ``python -m tests.bench [ids map shards]`` against the test stack."""
