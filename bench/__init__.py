"""Benchmarks for `make bench`: each prints its figures; the last line is one JSON object."""
