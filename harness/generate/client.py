"""The model client: `openai.AsyncOpenAI` against any OpenAI-compatible endpoint.

Concurrency is bounded by a semaphore; retries, backoff and `Retry-After` are the
client's own (`max_retries`), and every request has a timeout. A request that still
fails is a `Reply` with an `error` (data for the funnel), never an exception, except
for faults no later request can escape (a refused key, an unknown model, an endpoint
that never answered at all): those raise `EndpointError` with what to do.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import openai

from harness.errors import HarnessError
from harness.generate.cache import ResponseCache, request_key
from harness.generate.prompts import Template

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


class EndpointError(HarnessError):
    """The endpoint cannot serve this run at all (key, model, address)."""


def is_local(base_url: str) -> bool:
    host = urlparse(base_url).hostname or ""
    return host in _LOCAL_HOSTS or host.startswith("127.")


def resolve_endpoint(base_url: str | None, api_key: str | None) -> tuple[str, str]:
    """The base URL and key to use; a remote endpoint without a key is a ConfigError."""
    url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    key = api_key or os.environ.get("OPENAI_API_KEY")
    if not key:
        if not is_local(url):
            raise EndpointError(f"no API key for {url}: set OPENAI_API_KEY=... (or pass "
                                "--base-url http://127.0.0.1:PORT/v1 for a local server)")
        key = "local-no-key"  # a local server ignores it; the client insists on one
    return url, key


@dataclass(frozen=True)
class Reply:
    """One model reply (or the failure to get one)."""

    text: str
    finish_reason: str | None
    response_id: str | None
    usage: dict[str, int]
    params: dict[str, Any]
    template: str
    cached: bool = False
    error: str | None = None
    seconds: float = 0.0

    def provenance(self) -> dict[str, Any]:
        return {"template": self.template, "response_id": self.response_id,
                "finish_reason": self.finish_reason, "usage": self.usage,
                "sampling": self.params, "cached": self.cached}


@dataclass
class Usage:
    """Requests and tokens of one stage."""

    requests: int = 0
    cached: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "cached": self.cached, "failed": self.failed,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cached_prompt_tokens": self.cached_prompt_tokens,
                "cached_completion_tokens": self.cached_completion_tokens,
                "errors": dict(self.errors)}


class LLMClient:
    """Chat completions with a cache, a concurrency bound and per-stage accounting."""

    def __init__(self, *, model: str, base_url: str, api_key: str, cache: ResponseCache,
                 concurrency: int = 8, timeout: float = 120.0, max_retries: int = 4,
                 max_tokens: int = 1024) -> None:
        self.model = model
        self.base_url = base_url
        self.cache = cache
        self.max_tokens = max_tokens
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key,
                                          timeout=timeout, max_retries=max_retries)
        self._limit = asyncio.Semaphore(concurrency)
        self.usage: dict[str, Usage] = {}
        self.wait_seconds = 0.0  # wall time with at least one request in flight
        self._in_flight = 0
        self._busy_since = 0.0
        self._answered = 0
        self._unreachable = 0

    @property
    def host(self) -> str:
        return urlparse(self.base_url).netloc

    def _stage(self, stage: str) -> Usage:
        return self.usage.setdefault(stage, Usage())

    async def complete(self, template: Template, values: dict[str, str], *, stage: str,
                       seed: int, temperature: float, top_p: float = 0.95,
                       max_tokens: int | None = None) -> Reply:
        """The reply to one templated request, from the cache when it was made before."""
        params = {"temperature": temperature, "top_p": top_p,
                  "max_tokens": max_tokens or self.max_tokens, "seed": seed}
        messages = template.messages(**values)
        request = {"model": self.model, "messages": messages, **params}
        key = request_key(request)
        usage = self._stage(stage)
        hit = self.cache.get(key)
        if hit is not None:
            usage.cached += 1
            usage.cached_prompt_tokens += hit["usage"].get("prompt_tokens", 0)
            usage.cached_completion_tokens += hit["usage"].get("completion_tokens", 0)
            return Reply(text=hit["text"], finish_reason=hit["finish_reason"],
                         response_id=hit["id"], usage=hit["usage"], params=params,
                         template=template.name, cached=True)
        async with self._limit:
            started = time.perf_counter()
            self._enter(started)
            try:
                reply = await self._send(messages, params, template.name, usage)
            finally:
                self._leave()
            reply = Reply(**{**reply.__dict__, "seconds": time.perf_counter() - started})
        if reply.error is None:
            self.cache.put(key, {"text": reply.text, "finish_reason": reply.finish_reason,
                                 "id": reply.response_id, "usage": reply.usage})
        return reply

    def _enter(self, now: float) -> None:
        if self._in_flight == 0:
            self._busy_since = now
        self._in_flight += 1

    def _leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self.wait_seconds += time.perf_counter() - self._busy_since

    async def _send(self, messages: list[dict[str, str]], params: dict[str, Any],
                    template: str, usage: Usage) -> Reply:
        usage.requests += 1
        try:
            response = await self._client.chat.completions.create(
                model=self.model, messages=messages,  # type: ignore[arg-type]
                temperature=params["temperature"], top_p=params["top_p"],
                max_tokens=params["max_tokens"], seed=params["seed"])
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise EndpointError(f"{self.base_url} refused the API key ({exc.status_code}): "
                                "set a valid OPENAI_API_KEY") from exc
        except openai.NotFoundError as exc:
            raise EndpointError(f"{self.base_url} has no model {self.model!r} (404): pass "
                                "a model the server serves with --model, or check "
                                "--base-url (it usually ends in /v1)") from exc
        except openai.APIConnectionError as exc:
            # A timeout is per request; an endpoint that never answered anything is not.
            kind = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection"
            if kind == "connection" and self._answered == 0:
                self._unreachable += 1
                if self._unreachable >= 3:
                    raise EndpointError(f"cannot reach {self.base_url} ({exc}): start the "
                                        "server or pass the right --base-url") from exc
            return self._failed(usage, kind, str(exc), params, template)
        except openai.APIStatusError as exc:
            return self._failed(usage, f"http_{exc.status_code}", str(exc), params, template)
        except (openai.APIError, ValueError, KeyError, TypeError) as exc:
            # a body that is not JSON, or not a completion: the server's fault, as data
            return self._failed(usage, "bad_response", str(exc), params, template)
        self._answered += 1
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "") if choice is not None else ""
        tokens = {"prompt_tokens": 0, "completion_tokens": 0}
        if response.usage is not None:
            tokens = {"prompt_tokens": response.usage.prompt_tokens or 0,
                      "completion_tokens": response.usage.completion_tokens or 0}
        usage.prompt_tokens += tokens["prompt_tokens"]
        usage.completion_tokens += tokens["completion_tokens"]
        return Reply(text=text, finish_reason=choice.finish_reason if choice else None,
                     response_id=response.id, usage=tokens, params=params,
                     template=template)

    @staticmethod
    def _failed(usage: Usage, kind: str, message: str, params: dict[str, Any],
                template: str) -> Reply:
        usage.failed += 1
        usage.errors[kind] += 1
        return Reply(text="", finish_reason=None, response_id=None, usage={},
                     params=params, template=template, error=f"{kind}: {message[:300]}")

    async def close(self) -> None:
        await self._client.close()
