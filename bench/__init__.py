"""Benchmarks, run by hand (`make bench`); results go to bench/results/, which git ignores."""
