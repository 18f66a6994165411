"""Sparse BdG operators: PETSc assembly, value updates and SLEPc spectral bounds."""
