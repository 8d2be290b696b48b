"""A real HTTP server on 127.0.0.1 speaking OpenAI chat completions, replies scripted.

The script is a function from the request body to a `Scripted` reply; the template name
the harness embeds in its system message (`[template problem.v1]`) says what is asked.
Every request is counted and kept, so a test can assert that a re-run sent none.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    """One reply: text and finish_reason, or an HTTP error, after an optional delay."""

    text: str = ""
    finish_reason: str = "stop"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None  # a body sent as it is (a malformed reply)


Script = Callable[[dict[str, Any]], Scripted]


def template_of(body: dict[str, Any]) -> str:
    match = re.search(r"\[template ([\w.-]+)\]", body["messages"][0]["content"])
    return match.group(1) if match else ""


def user_text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def fenced(code: str, prose: str = "") -> str:
    return f"{prose}\n```python\n{code.strip()}\n```\n"


class OpenAIServer:
    """`with OpenAIServer(script) as server:` ... `server.url` is the base URL (…/v1)."""

    def __init__(self, script: Script, latency: float = 0.0, keep: bool = True) -> None:
        self.script = script
        self.latency = latency
        self.keep = keep  # False: count requests without keeping them (the memory bench)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._count = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with outer._lock:
                    if outer.keep:
                        outer.requests.append(body)
                    outer._count += 1
                    number = outer._count
                reply = outer.script(body)
                time.sleep(outer.latency + reply.delay)
                if reply.raw is not None:
                    payload = reply.raw
                elif reply.status != 200:
                    payload = json.dumps({"error": {"message": f"scripted {reply.status}",
                                                    "type": "server_error"}}).encode()
                else:
                    payload = json.dumps(outer.completion(body, reply, number)).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): nothing to answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @staticmethod
    def completion(body: dict[str, Any], reply: Scripted, number: int) -> dict[str, Any]:
        prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
        return {
            "id": f"chatcmpl-{number}", "object": "chat.completion", "created": 0,
            "model": body.get("model", ""),
            "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                         "message": {"role": "assistant", "content": reply.text}}],
            "usage": {"prompt_tokens": prompt_tokens,
                      "completion_tokens": len(reply.text.split()),
                      "total_tokens": prompt_tokens + len(reply.text.split())},
        }

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def by_template(self) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._lock:
            for body in self.requests:
                name = template_of(body)
                out[name] = out.get(name, 0) + 1
        return out

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
