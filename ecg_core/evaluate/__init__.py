"""Evaluation: generation, answer parsing, metrics and the Table-I report."""
