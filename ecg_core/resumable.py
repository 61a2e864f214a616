"""Work over a list of items that an interruption never loses: evaluation answers, readings of new images."""


def resume(samples: list[dict], done: list[dict], predict_chunk, save, chunk: int = 64) -> list[dict]:
    """Predict what `done` lacks, `chunk` samples at a time, calling `save(all rows so far)` after each chunk,
    so an interrupted evaluation restarts where it stopped. Rows come back in the samples' order."""
    have = {r["id"] for r in done}
    todo = [s for s in samples if s["id"] not in have]
    rows = list(done)
    for start in range(0, len(todo), chunk):
        rows += predict_chunk(todo[start : start + chunk])
        save(rows)
    order = {s["id"]: i for i, s in enumerate(samples)}
    return sorted((r for r in rows if r["id"] in order), key=lambda r: order[r["id"]])
