"""Reading a child's pipes without blocking, each with a byte cap."""

from __future__ import annotations

import os


class Capture:
    """Reads one pipe with a byte cap; remembers whether the cap was hit."""

    def __init__(self, fd: int, cap: int) -> None:
        self.fd, self.cap = fd, cap
        self.buf = bytearray()
        self.overflow = False
        self.open = True
        os.set_blocking(fd, False)

    def pump(self) -> bool:
        """Read what is there; False when nothing was (would block, or end of file)."""
        try:
            chunk = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return False
        if not chunk:
            self.open = False
            return False
        room = self.cap - len(self.buf)
        if len(chunk) > room:
            self.overflow = True
        self.buf += chunk[: max(room, 0)]
        return True

    def drain(self) -> None:
        """Read until the pipe would block or ends."""
        while self.open and self.pump():
            pass

    def close(self) -> None:
        """Close the read end."""
        os.close(self.fd)

    def text(self) -> str:
        """What was read, decoded with replacement."""
        return self.buf.decode("utf-8", "replace")
