"""Benchmarks: scripts that print ratio tables; the figures go to BENCHMARKS.md.

A package so that they share :mod:`benchmarks.common` without ``sys.path`` edits:
run each from the repository root as ``python -m benchmarks.bench_interpolate --help``.
"""
