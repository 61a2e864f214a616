#!/usr/bin/env bash
# Wheels and files benchmarks/gpu_check.py needs on a GPU host without network that has torch, transformers,
# peft and accelerate (Python 3.12, x86-64) but nothing else of this project's: DeepSpeed (built here as a
# pure-Python wheel; its CUDA ops compile just in time there) and its missing needs, `datasets` for the
# training recipe, and the real Llama 3.2 Vision files. Everything lands in .gpu/ (git-ignored).
#
#   bash benchmarks/gpu_wheels.sh [LLAMA_FILES]       # default: the test fixture tests/fixtures/llama32-vision
#   then on the GPU host, in a copy of the checkout with .gpu/:
#   python3 -m pip install -q --no-index --no-deps --target .gpu/site .gpu/wheels/*.whl && export PYTHONPATH=.gpu/site:$PWD
#   python3 benchmarks/gpu_check.py --llama-files .gpu/llama --out gpu_check.json
set -euo pipefail
cd "$(dirname "$0")/.."
PIP=".venv/bin/pip"
rm -rf .gpu && mkdir -p .gpu/wheels
$PIP wheel -q --no-deps -w .gpu/wheels "deepspeed==$(.venv/bin/python -c 'from importlib.metadata import version; print(version("deepspeed"))')" hjson
# The GPU image's Python is 3.12 on x86-64; pydantic-core is the one compiled wheel.
$PIP download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 -d .gpu/wheels \
    pydantic pydantic-core annotated-types typing-inspection typing-extensions datasets dill multiprocess
if [[ -n ${1:-} ]]; then cp -r "$1" .gpu/llama
else .venv/bin/python -c "from ecg_core.model.shrunk import unpack_real_files; unpack_real_files('tests/fixtures/llama32-vision', '.gpu/llama')"; fi
du -sh .gpu
