"""A writer thread between the listening loop and the disk.

Syncing a segment to an SD card can take tens or hundreds of
milliseconds; done in the gateway loop it would make the audio input
overflow. The loop hands each segment to :class:`SegmentWriter` and goes
on; the thread appends and syncs. A failure is reported once, on the next
``submit`` (or by ``close``), and the rest of the call is not written.
"""

from __future__ import annotations

import logging
import queue
import threading

from lineguard.recording.segments import SegmentFile

log = logging.getLogger(__name__)

MAX_QUEUED_SEGMENTS = 30      # ~30 s of audio at the default segment length


class WriterError(OSError):
    """The disk refused a segment, or could not keep up."""


class SegmentWriter:
    def __init__(self, file: SegmentFile, max_queued: int = MAX_QUEUED_SEGMENTS) -> None:
        self.file = file
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=max_queued)
        self._error: OSError | None = None
        self._reported = False
        self._thread = threading.Thread(target=self._run, name=f"recorder {file.path.name}", daemon=True)
        self._thread.start()

    @property
    def failed(self) -> bool:
        return self._error is not None

    def submit(self, data: bytes) -> None:
        """Queue one segment; raise :class:`WriterError` once if writing has failed."""
        self._raise_once()
        if self._error is not None:
            return
        try:
            self._queue.put_nowait(data)
        except queue.Full:
            self._error = WriterError(f"the disk is too slow: {self._queue.maxsize} segments waiting")
            self._raise_once()

    def close(self) -> OSError | None:
        """Write what is queued, close the file; return a failure not yet reported."""
        self._queue.put(None)
        self._thread.join()
        self.file.close()
        if self._error is not None and not self._reported:
            self._reported = True
            return self._error
        return None

    def _raise_once(self) -> None:
        if self._error is not None and not self._reported:
            self._reported = True
            raise self._error

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is not None:
                continue                       # drain: the call goes on, unrecorded
            try:
                self.file.append(data)
            except OSError as exc:
                log.error("recording %s: %s", self.file.path, exc)
                self._error = exc
