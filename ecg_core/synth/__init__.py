"""Physiologically grounded synthetic 12-lead ECGs, the project's embedded default data.

A moving cardiac dipole (P, QRS and T waves as a vectorcardiographic loop) is projected onto the
12 leads through Dower's transform, so the limb leads obey Einthoven's and Goldberger's laws
exactly; each condition edits a patient's normal beat and rhythm, and noise is added per electrode.
"""

from .conditions import CONDITIONS, Condition
from .generate import generate_signal, synthesize_records

__all__ = ["CONDITIONS", "Condition", "generate_signal", "synthesize_records"]
