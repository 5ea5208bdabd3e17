"""A simulated line-sense board on a pseudo-terminal, reachable at a stable path (for replugging)."""

from __future__ import annotations

import os
import select
import tty
from pathlib import Path

from lineguard.line.board import BoardLineMonitor
from lineguard.line.calls import CallTracker
from tests.firmware.sim_machine import SimLine, SimWorld, boot

STEP_MS = 20


class PtyBench:
    """A simulated board plugged into a pseudo-terminal, reachable at a stable path."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = tmp_path / "ttyLINESENSE"
        self.now_ms = 0
        self.master: int | None = None
        self.board = None
        self.events: list = []
        self.tracker = CallTracker()
        self.tracked: list = []
        self.frozen = False

    def plug(self, reset_cause: int = 1, off_hook: bool = False) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.master, self.slave = master, slave
        self.port.parent.mkdir(parents=True, exist_ok=True)
        if self.port.is_symlink():
            self.port.unlink()
        self.port.symlink_to(os.ttyname(slave))
        self.power_on(reset_cause, off_hook)

    def power_on(self, reset_cause: int = 1, off_hook: bool = False, line_v: float | None = None) -> None:
        world = SimWorld(reset_cause)
        world.now_ms = self.now_ms
        self.world, main = boot(world)
        world.uart_fd = self.master
        self.line = SimLine(world)
        if off_hook:
            self.line.off_hook()
        if line_v is not None:
            self.line.line_v = line_v
        self.line.apply(world.now_ms)
        self.board = main.Board()
        self.board.start()

    def unplug(self) -> None:
        os.close(self.master)
        os.close(self.slave)
        self.master = self.board = None

    def advance_board(self, ms: int, wait: bool = True) -> None:
        """The firmware's time goes on by ``ms`` (its main loop runs every 5 ms); with ``wait``,
        until the kernel has handed what it wrote to the other end."""
        self.now_ms += ms
        if self.board is None or self.frozen:
            return
        written = self.world.uart_written
        for _ in range(ms // 5):
            self.world.advance(5)
            self.board.service()
        if wait and self.world.uart_written != written:
            select.select([self.slave], [], [], 0.5)

    def run(self, monitor: BoardLineMonitor, ms: int) -> None:
        for _ in range(0, ms, STEP_MS):
            self.advance_board(STEP_MS)
            for event in monitor.poll(self.now_ms / 1000.0):
                self.events.append(event)
                self.tracked += self.tracker.feed(event)
            self.tracked += self.tracker.tick(self.now_ms / 1000.0)

    def take(self, kinds=object) -> list:
        out = [e for e in self.events if isinstance(e, kinds)]
        self.events.clear()
        return out
