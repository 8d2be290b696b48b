"""Talking to the Docker engine: the client, and framed messages over an attach socket."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Mapping
from typing import Any

import docker
import docker.errors

from harness.errors import DockerUnreachable
from harness_sandbox.protocol import encode_frame, pop_frame

_CLIENT: docker.DockerClient | None = None


def client() -> docker.DockerClient:
    """A shared Docker client; raises DockerUnreachable with the fix when none answers."""
    global _CLIENT
    if _CLIENT is None:
        try:
            made = docker.from_env(timeout=120)
            made.ping()
        except Exception as exc:  # the SDK raises several unrelated types here
            raise DockerUnreachable(
                f"Docker engine not reachable ({exc.__class__.__name__}: {exc}). Start it "
                "(`sudo systemctl start docker` or `sudo dockerd &`) or point DOCKER_HOST at "
                "a running engine, then run `harness sandbox doctor`."
            ) from exc
        _CLIENT = made
    return _CLIENT


class ChannelClosed(Exception):
    """The fork server's end of the channel went away."""


class Channel:
    """Length-prefixed JSON frames over a container's attached stdin/stdout.

    Docker multiplexes the attached stdout in 8-byte-headed blocks (no TTY); this
    removes that layer and then reads the protocol's frames (`harness_sandbox.protocol`)
    out of the stream.
    """

    def __init__(self, sock: Any) -> None:
        self._sock: socket.socket = getattr(sock, "_sock", sock)
        self._keep = sock  # the SDK's wrapper closes the socket when collected
        self._raw = bytearray()  # bytes of the multiplexed stream not yet unwrapped
        self._data = bytearray()  # stdout payload not yet consumed as frames

    def send(self, msg: Mapping[str, Any]) -> None:
        try:
            self._sock.sendall(encode_frame(msg))
        except OSError as exc:
            raise ChannelClosed(f"sending to the sandbox failed: {exc}") from exc

    def receive(self, deadline: float | None) -> dict[str, Any]:
        """The next frame; `deadline` (monotonic) None waits for as long as it takes."""
        while True:
            msg = pop_frame(self._data)
            if msg is not None:
                return msg
            self._fill(deadline)

    def _fill(self, deadline: float | None) -> None:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimeoutError("the sandbox did not answer in time")
        self._sock.settimeout(remaining)
        try:
            chunk = self._sock.recv(1 << 20)
        except TimeoutError:
            raise
        except OSError as exc:
            raise ChannelClosed(f"reading from the sandbox failed: {exc}") from exc
        if not chunk:
            raise ChannelClosed("the sandbox closed its channel")
        self._raw += chunk
        while len(self._raw) >= 8:
            stream, size = self._raw[0], struct.unpack(">I", self._raw[4:8])[0]
            if len(self._raw) < 8 + size:
                break
            if stream == 1:
                self._data += self._raw[8 : 8 + size]
            del self._raw[: 8 + size]

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass
