"""Floating-point arithmetic shared by the objective, the solvers and the sources: exact scaling by powers
of two, and double-double (about ε²) sums and products. Imports nothing else from gradfit."""
