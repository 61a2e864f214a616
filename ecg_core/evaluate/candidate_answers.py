"""How a candidate answers a task's questions, one interface for every kind of leaderboard row: an Mllama
(the base checkpoint, or base + a run's adapter, fetched and loaded only when some answer is missing) and a vision
chat model behind an OpenAI-compatible endpoint (answers cached, tokens and cost totalled). Either is called with a
task and a chunk of its questions and gives one prediction row per question; the evaluation saves the rows between
chunks (`chunk` questions), so a stopped evaluation resumes where it was."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ecg_core.evaluate.api_model import ask_model
from ecg_core.evaluate.benchmark_tasks import Task
from ecg_core.evaluate.detection import predict
from ecg_core.evaluate.endpoint import Cache, EndpointConfig, cost_usd
from ecg_core.evaluate.grading import answer_tokens, prediction_row, question
from ecg_core.evaluate.privacy import is_credentialed
from ecg_core.reading.stored import StoredMllama

# What an endpoint row totals; all but n_asked are summed from ask_model's summaries (its n is the questions asked).
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "n_asked", "n_cached", "n_failed")


class Answers(Protocol):
    chunk: int  # questions answered between two saves of the predictions

    def __call__(self, task: Task, questions: list[dict]) -> list[dict]: ...

    def usage(self) -> dict | None:
        """What answering cost: tokens, cache hits, failures and USD for an endpoint; None for a local model."""


class MllamaAnswers:
    """An Mllama row: `model` (the base checkpoint, or base + a run's adapter) on each chunk's pages, fetched then."""

    chunk = 64

    def __init__(self, model: StoredMllama, batch_size: int):
        self.model, self.batch_size = model, batch_size

    def __call__(self, task: Task, questions: list[dict]) -> list[dict]:
        model, processor = self.model.loaded()
        root = self.model.page_root(questions)
        return predict(model, processor, task, questions, root, pages=self.model.pages, batch_size=self.batch_size)

    def usage(self) -> None:
        return None


class EndpointAnswers:
    """An endpoint row: chat model `model` at `endpoint`; `image_bytes` reads a question's page."""

    chunk = 32

    def __init__(
        self,
        model: str,
        endpoint: EndpointConfig,
        api_key: str | None,
        cache: Cache,
        image_bytes: Callable[[str], bytes],
    ):
        self.model, self.endpoint, self.api_key, self.cache = model, endpoint, api_key, cache
        self.image_bytes = image_bytes
        self.totals = dict.fromkeys(USAGE_KEYS, 0)

    def __call__(self, task: Task, questions: list[dict]) -> list[dict]:
        items = [
            {"id": q["id"], "question": question(q), "image": self.image_bytes(q["image"])}
            | {"credentialed": is_credentialed(q)}
            for q in questions
        ]
        answers, summary = ask_model(
            items,
            model=self.model,
            max_tokens=answer_tokens(task),
            labels=task.kind.labels if task.kind.metric == "multilabel" else (),
            base_url=self.endpoint.base_url,
            api_key=self.api_key,
            cache=self.cache,
            allow_credentialed_remote=self.endpoint.allow_credentialed_remote,
        )
        asked = summary | {"n_asked": summary["n"]}
        self.totals = {k: self.totals[k] + asked[k] for k in USAGE_KEYS}
        return [
            prediction_row(task, q, a["answer"], a["scores"]) | ({"error": a["error"]} if a["error"] else {})
            for q, a in zip(questions, answers)
        ]

    def usage(self) -> dict:
        return self.totals | {
            "cost_usd": cost_usd(self.model, self.totals["prompt_tokens"], self.totals["completion_tokens"])
        }
