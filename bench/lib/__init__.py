"""Building blocks of the custos benchmark suite (see bench/README.md)."""
