"""Assets, grouped by zone: bronze -> silver -> gold, plus metrics."""
