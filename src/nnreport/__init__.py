"""nnreport: train a grid of neural-network experiments and write a Spanish LaTeX report."""

__version__ = "0.1.0"
