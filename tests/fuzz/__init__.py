"""Fuzzers: ``python -m tests.fuzz.images`` mutates images through both image entry points."""
