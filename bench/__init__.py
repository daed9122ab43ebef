"""Benchmarks (`make bench`): figures printed and written to bench/results/, each against a
baseline measured in the same run on the same machine. Not tests: nothing here asserts a
time; a benchmark fails only when the kiosk does not do what it was asked to."""
