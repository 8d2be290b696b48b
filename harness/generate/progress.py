"""A progress bar per stage (on stderr), or nothing when progress is off."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


class Progress:
    """`add(stage, total)` opens (or grows) a stage's bar, `advance(stage)` moves it."""

    def __init__(self, console: Console | None, enabled: bool) -> None:
        self._bar: RichProgress | None = None
        self._tasks: dict[str, TaskID] = {}
        if enabled and console is not None:
            self._bar = RichProgress(TextColumn("{task.description:<24}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=console, transient=False)

    def add(self, stage: str, total: int) -> None:
        if self._bar is None:
            return
        if stage in self._tasks:
            task = self._tasks[stage]
            self._bar.update(task, total=(self._bar.tasks[task].total or 0) + total)
        else:
            self._tasks[stage] = self._bar.add_task(stage, total=total)

    def advance(self, stage: str, n: int = 1) -> None:
        if self._bar is not None and stage in self._tasks:
            self._bar.advance(self._tasks[stage], n)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
