"""A local OpenAI-compatible endpoint for the tests: real HTTP on 127.0.0.1, POST /v1/chat/completions only.

    with FakeJudge() as judge:          # judge.base_url -> "http://127.0.0.1:<port>/v1"
        judge.enqueue(429)              # scripted replies are served first, in order
        judge.enqueue(200, "not json")
        judge.enqueue_body({"choices": []})   # a 200 whose body is malformed
        ...                             # then `judge.reply(request_body)` answers
        judge.requests                  # every request: {"path", "headers" (lower-case names), "body"}

The default reply grades by word overlap (Jaccard) between the generated and the reference report, so an
identical report scores 100 and an unrelated one 0, and it answers both rubrics' fields. As a candidate VLM,
`FakeJudge(reply=vision_answer, logprobs=True)` answers ECG questions from the image it is sent, with
log-probabilities for each answer token when asked (and `logprobs=False`: an endpoint that has none).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def prompt_text(body: dict) -> str:
    """The text of the last user message (string content or the text parts of a multi-part one)."""
    content = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    if isinstance(content, str):
        return content
    return "\n".join(part["text"] for part in content if part["type"] == "text")


def prompt_reports(body: dict) -> tuple[str, str]:
    """(generated, reference) as written into the first user message by the judge's prompt."""
    first = dict(body, messages=[m for m in body["messages"] if m["role"] == "user"][:1])
    match = re.search(r"Reference report:\n(.*)\n\nGenerated report:\n(.*)", prompt_text(first), re.DOTALL)
    return match.group(2), match.group(1)


def overlap_reply(body: dict) -> str:
    generated, reference = (set(re.findall(r"\w+", text.lower())) for text in prompt_reports(body))
    overlap = len(generated & reference) / max(len(generated | reference), 1)
    paper_fields = ("medical_accuracy", "image_consistency", "completeness", "clinical_utility", "score")
    paper = {k: round(100 * overlap) for k in paper_fields}
    pulse = {k: round(10 * overlap) for k in ("diagnosis", "waveform", "rhythm")}
    return json.dumps({**paper, **pulse, "rationale": f"word overlap {overlap:.2f}"})


def image_digest(body: dict) -> int:
    """A number drawn from the image the request carries (0 without one)."""
    content = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    urls = [p["image_url"]["url"] for p in content if p["type"] == "image_url"] if isinstance(content, list) else []
    return int(hashlib.sha256(urls[0].encode()).hexdigest(), 16) if urls else 0


def vision_answer(body: dict) -> str:
    """A candidate VLM's answer, decided by the page: an option letter, a report, or classes of the set asked."""
    question, digest = prompt_text(body), image_digest(body)
    if re.search(r"^[A-F]\. ", question, re.MULTILINE):
        return "ABCD"[digest % 2] + "."
    if "report" in question.lower():
        return ("Sinus rhythm. Normal ECG.", "Sinus rhythm. Inferior myocardial infarction.")[digest % 2]
    classes = re.search(
        r"(?:following diagnostic classes does this ECG show|classes \(|Options): ?\(?([A-Za-z_, /-]+)", question
    )
    names = [c.strip() for c in classes.group(1).split(",")] if classes else ["NORM", "MI"]
    return names[digest % len(names)]


def answer_logprobs(text: str, digest: int) -> dict:
    """Log-probabilities of the answer's tokens (words and separators), each with two alternatives."""
    tokens = re.findall(r"\w+|\W", text)
    content = []
    for k, token in enumerate(tokens):
        p = 0.5 + ((digest >> k) % 50) / 100
        alternatives = [("NORM", 1 - p), ("MI", (1 - p) / 2)]
        content.append(
            {
                "token": token,
                "logprob": math.log(p),
                "bytes": list(token.encode()),
                "top_logprobs": [{"token": token, "logprob": math.log(p), "bytes": list(token.encode())}]
                + [
                    {"token": t, "logprob": math.log(q), "bytes": list(t.encode())}
                    for t, q in alternatives
                    if t != token
                ],
            }
        )
    return {"content": content}


class FakeJudge:
    def __init__(self, reply=overlap_reply, usage: tuple[int, int] = (100, 20), logprobs: bool = False):
        self.reply = reply  # request body -> reply text
        self.usage = usage  # (prompt_tokens, completion_tokens) reported for every completion
        self.logprobs = logprobs  # answer log-probabilities when a request asks for them
        self.scripted: deque[tuple[int, str | dict]] = deque()
        self.requests: list[dict] = []
        self._lock = threading.Lock()

    def enqueue(self, status: int, content: str = "") -> None:
        """Answer the next request with `status`: 200 carries `content` as the reply, others an error body."""
        self.scripted.append((status, content))

    def enqueue_body(self, payload: dict) -> None:
        """Answer the next request with this body as it is (status 200): a malformed completion, say."""
        self.scripted.append((200, payload))

    def _respond(self, path: str, headers: dict, body: dict) -> tuple[int, dict]:
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            status, content = self.scripted.popleft() if self.scripted else (200, None)
        if path != "/v1/chat/completions":
            return 404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}}
        if status != 200:
            return status, {"error": {"message": content or f"scripted status {status}", "type": "server_error"}}
        if isinstance(content, dict):
            return 200, content
        prompt_tokens, completion_tokens = self.usage
        text = self.reply(body) if content is None else content
        logprobs = answer_logprobs(text, image_digest(body)) if self.logprobs and body.get("logprobs") else None
        return 200, {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": logprobs,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def __enter__(self) -> FakeJudge:
        judge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, payload = judge._respond(self.path, headers, json.loads(raw or b"{}"))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def requests_for(self, report: str) -> list[dict]:
        """The requests that graded `report`."""
        return [r for r in self.requests if prompt_reports(r["body"])[0] == report]
