"""Helpers the Makefile runs, also imported by the tests and benchmarks."""
