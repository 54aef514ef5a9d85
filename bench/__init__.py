"""Benchmarks of the bridge against aiortc's own MediaRelay, each relay in its own process."""
