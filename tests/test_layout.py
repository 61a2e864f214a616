"""The store layout lives in ecg_core/layout.py alone: its tree (the module docstring) is what its functions
build, no other module spells a key, and the README's pipeline picture names only prefixes it defines."""

import ast
import inspect
import re
from pathlib import Path

from ecg_core import layout

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("ecg_core", "tasks", "flows", "cli", "benchmarks", "deployments")
TOP_LEVEL = ("records", "images", "instruct", "runs", "eval", "cnn", "registry", "predictions", "models")
# A store key spelled out: a top-level prefix and a slash, then a name, an f-string field or a %-format.
# Not keys: `<dataset>`-style documentation, a rate (records/s), config files ("instruct/demo.yaml", "configs/models/...").
LITERAL_KEY = re.compile(rf"(?<![\w.-])(?:(?:{'|'.join(TOP_LEVEL)})/(?=[\w%{{])(?!s\b)|prefect-results)")


def documented_tree() -> dict[str, str]:
    """Documented path (placeholders kept, e.g. `records/<dataset>/manifest.json`) -> the function named beside it."""
    paths, parents = {}, []
    for line in layout.__doc__.splitlines():
        if not line.startswith("    ") or not line.strip():
            continue
        depth = (len(line) - len(line.lstrip())) // 4 - 1
        entry, *function = line.split()
        parents[depth:] = [entry]
        if function:
            paths["".join(parents)] = function[0]
    return paths


def sample_arguments(function) -> list:
    return [
        7 if p.annotation in (int, "int") else f"{p.name}-x" for p in inspect.signature(function).parameters.values()
    ]


def test_every_function_builds_the_key_its_tree_entry_documents():
    tree = documented_tree()
    functions = {
        name
        for name, f in inspect.getmembers(layout, inspect.isfunction)
        if f.__module__ == layout.__name__ and name.endswith(("_key", "_prefix"))
    }
    assert sorted(tree.values()) == sorted(functions), "each key function is documented once in the tree"
    for path, name in tree.items():
        key = getattr(layout, name)(*sample_arguments(getattr(layout, name)))
        pattern = re.sub(r"<\w+>", "[^/]+", re.escape(path.rstrip("/")))  # a placeholder: any one name
        assert re.fullmatch(pattern, key), f"{name}() gives {key!r}, not under {path!r}"
        assert key.split("/")[0] in (*TOP_LEVEL, "prefect-results")


def literal_keys(path: Path) -> list[str]:
    """`file:line: text` for every string literal spelling a store key (an f-string is read whole, its fields
    as `{}`); docstrings are documentation and are not read."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    f_string_parts = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if id(node) in docstrings | f_string_parts or text.endswith((".yaml", ".yml")) or "configs/" in text:
            continue
        if LITERAL_KEY.search(text):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {text!r}")
    return found


def test_no_module_but_layout_spells_a_store_key():
    sources = [p for folder in SCANNED for p in sorted((REPO / folder).rglob("*.py"))]
    found = [hit for p in sources if p != REPO / "ecg_core" / "layout.py" for hit in literal_keys(p)]
    assert not found, "store keys spelled outside ecg_core/layout.py:\n" + "\n".join(found)


def test_the_readme_pipeline_names_only_prefixes_the_layout_defines():
    readme = (REPO / "README.md").read_text()
    picture = re.search(r"## The pipeline\s+```\n(.*?)```", readme, re.S).group(1)
    named = re.findall(r"▶\s*(\S+/)", picture)
    assert named, "the pipeline picture names the stages' store prefixes"
    assert set(named) <= set(documented_tree()), f"not in ecg_core/layout.py: {set(named) - set(documented_tree())}"
