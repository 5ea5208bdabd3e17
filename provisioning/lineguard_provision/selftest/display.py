"""The installer's view of the self-test: a live spinner per step, then pass/fail and what to do."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from lineguard_provision.selftest.report import Report, Status, StepResult
from lineguard_provision.selftest.runner import Step, StepObserver

MARKS = {Status.PASS: "[green]✔ pass", Status.WARN: "[yellow]! warn", Status.FAIL: "[red]✘ fail",
         Status.SKIP: "[dim]- skip"}


class RichProgress(StepObserver):
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                                 console=self.console, transient=True)
        self._task = None

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    def started(self, step: Step, index: int, total: int) -> None:
        if self._task is None:
            self._task = self.progress.add_task(step.title, total=total)
        self.progress.update(self._task, description=f"{step.title} …", completed=index)

    def finished(self, result: StepResult) -> None:
        o = result.outcome
        self.console.print(f"{MARKS[o.status]}[/]  [bold]{escape(result.title)}[/]: {escape(o.detail)}")
        if o.remedy and o.status in (Status.FAIL, Status.WARN):
            self.console.print(f"        [cyan]→ {escape(o.remedy)}[/]")
        if self._task is not None:
            self.progress.advance(self._task)


def summary_line(report: Report) -> str:
    counts = {status: sum(1 for s in report.steps if s.status is status) for status in Status}
    verdict = "[green]PASSED" if report.passed else "[red]FAILED"
    return (f"{verdict}[/] {escape(report.device_id)}: {counts[Status.PASS]} passed, {counts[Status.WARN]} "
            f"warning(s), {counts[Status.FAIL]} failed, {counts[Status.SKIP]} skipped")
