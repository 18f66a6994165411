"""Chebyshev (kernel-polynomial) machinery: coefficients, kernels, recursion, probing."""
