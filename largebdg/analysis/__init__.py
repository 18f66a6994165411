"""Analysis of solved sweeps: critical temperatures, clean references, sweep tables."""
