"""Observables computed from a converged mean field (superfluid stiffness, ...)."""
