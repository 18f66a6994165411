"""Drivers: one solve (:mod:`.run`), resumable sweeps (:mod:`.sweep`), stiffness of results."""
