"""largebdg: self-consistent Bogoliubov-de Gennes equations of disordered two-band superconductors."""

__version__ = "0.1.0"
