"""Progress bars for the long steps (rich.progress), and one-line notes of what each step found."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

Advance = Callable[[int], None]


class Steps:
    """A live progress display for one benchmark run; quiet when ``console`` is None."""

    def __init__(self, console: Console | None) -> None:
        self.console = console
        self._progress: Progress | None = None
        if console is not None:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )

    def __enter__(self) -> Steps:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        """A progress bar for one step; the step calls the yielded function as it advances."""
        progress = self._progress
        if progress is None:
            yield lambda _: None
            return
        task_id = progress.add_task(description, total=total)
        try:
            yield lambda steps: progress.advance(task_id, steps)
        finally:
            if total is None:
                progress.update(task_id, total=1, completed=1)
            else:
                progress.update(task_id, completed=total)

    def note(self, message: str) -> None:
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
