"""Load benchmark of Philos against PostGraphile; see docs/benchmarks.md."""
