"""Evaluation: candidates x benchmarks -> eval/<eval_id>/, by concern:

benchmarks.py    ECGBench's tasks as benchmarks: which questions each holds, their pages and truths
answering.py     how an Mllama (through ecg_core/reading/) or an endpoint answers them: prediction rows
grading.py       prediction rows read and scored: metrics, report score, intervals, paired differences
endpoint.py      OpenAI-compatible endpoints: the shared call policy, retries, cache, cost, privacy guard
judge.py         the LLM judge of reports: rubrics, judgements, summary
leaderboard.py   what is shown: the leaderboard, Table I, published figures, metrics.json
evaluation.py    the run: plan, candidates, steps, resume, everything written under eval/<eval_id>/
"""
