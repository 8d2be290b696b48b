"""The model client against a real loopback server: errors, retries, timeouts, cache."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from harness.generate.cache import ResponseCache
from harness.generate.client import EndpointError, LLMClient, Reply, resolve_endpoint
from harness.generate.prompts import SOLUTION
from tests.openai_server import OpenAIServer, Scripted


def ask(url: str, store: Path, *, seed: int = 1, timeout: float = 5.0,
        max_retries: int = 2, calls: int = 1) -> list[Reply]:
    async def main() -> list[Reply]:
        with ResponseCache(store) as cache:
            client = LLMClient(model="m", base_url=url, api_key="k", cache=cache,
                               concurrency=4, timeout=timeout, max_retries=max_retries)
            try:
                return list(await asyncio.gather(*(
                    client.complete(SOLUTION, {"problem": "p", "entry_point": "f"},
                                    stage="solutions", seed=seed + i, temperature=0.5)
                    for i in range(calls))))
            finally:
                await client.close()
    return asyncio.run(main())


def test_429_with_retry_after_is_retried_by_the_client(tmp_path: Path) -> None:
    seen: list[float] = []

    def script(_body: dict[str, Any]) -> Scripted:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return Scripted(status=429, headers={"Retry-After": "1"})
        return Scripted("```python\ndef f() -> int:\n    return 1\n```")

    with OpenAIServer(script) as server:
        [reply] = ask(server.url, tmp_path / "s.sqlite")
    assert reply.error is None and "def f" in reply.text
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 0.9  # the client waited as Retry-After said


def test_500_after_retries_is_a_failed_reply_not_an_exception(tmp_path: Path) -> None:
    with OpenAIServer(lambda _b: Scripted(status=500)) as server:
        [reply] = ask(server.url, tmp_path / "s.sqlite", max_retries=1)
        assert server.count == 2  # the first try and one retry
    assert reply.error is not None and reply.error.startswith("http_500")
    assert reply.text == ""


def test_a_reply_that_never_comes_times_out(tmp_path: Path) -> None:
    with OpenAIServer(lambda _b: Scripted("late", delay=5)) as server:
        started = time.monotonic()
        [reply] = ask(server.url, tmp_path / "s.sqlite", timeout=0.5, max_retries=0)
    assert reply.error is not None and reply.error.startswith("timeout")
    assert time.monotonic() - started < 4


def test_malformed_body_is_a_failed_reply(tmp_path: Path) -> None:
    with OpenAIServer(lambda _b: Scripted(raw=b"{not json")) as server:
        [reply] = ask(server.url, tmp_path / "s.sqlite", max_retries=0)
    assert reply.error is not None


def test_cache_answers_a_repeated_request_without_sending(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    with OpenAIServer(lambda _b: Scripted("```python\ndef f(): pass\n```")) as server:
        first = ask(server.url, store, calls=3)
        assert server.count == 3
        again = ask(server.url, store, calls=3)
        assert server.count == 3  # nothing sent the second time
        other = ask(server.url, store, seed=100)  # another seed is another request
        assert server.count == 4
    assert [r.text for r in again] == [r.text for r in first]
    assert all(r.cached for r in again) and not other[0].cached


def test_failed_requests_are_not_cached(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    with OpenAIServer(lambda _b: Scripted(status=500)) as server:
        ask(server.url, store, max_retries=0)
        ask(server.url, store, max_retries=0)
        assert server.count == 2


def test_concurrency_is_bounded(tmp_path: Path) -> None:
    with OpenAIServer(lambda _b: Scripted("ok"), latency=0.3) as server:
        started = time.monotonic()
        ask(server.url, tmp_path / "s.sqlite", calls=8)  # 4 at a time: two waves
        elapsed = time.monotonic() - started
    assert 0.55 < elapsed < 3


def test_unreachable_endpoint_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(EndpointError, match="start the server"):
        ask("http://127.0.0.1:9/v1", tmp_path / "s.sqlite", max_retries=0, calls=3)


def test_unknown_model_is_fatal_with_a_fix(tmp_path: Path) -> None:
    with OpenAIServer(lambda _b: Scripted(status=404)) as server, \
            pytest.raises(EndpointError, match="--model"):
        ask(server.url, tmp_path / "s.sqlite")


def test_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    url, key = resolve_endpoint("http://127.0.0.1:8080/v1", None)
    assert url.endswith("/v1") and key  # a local server needs no key
    with pytest.raises(EndpointError, match="set OPENAI_API_KEY"):
        resolve_endpoint("https://llm.example.com/v1", None)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert resolve_endpoint("https://llm.example.com/v1", None)[1] == "sk-test"
