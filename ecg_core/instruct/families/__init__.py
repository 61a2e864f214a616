"""Task families: each a module with NAME, questions(facts, rng) -> [QA] and parse_answer(question, answer)."""

from ecg_core.instruct.families import abnormality, measurement, morphology, report, rhythm

FAMILIES = {module.NAME: module for module in (abnormality, report, rhythm, morphology, measurement)}
