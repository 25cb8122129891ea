"""Clearing what a killed evidence writer left behind in a local evidence directory.

A writer killed mid-package leaves hidden temp files (`.<name>.<random>.tmp`, see
`pipeline.evidence.package.write_atomic`) and package directories without a
`manifest.json`. Neither is ever referenced by a committed database row (the
manifest is written last, before the commit), so both are safe to remove, but
only when no other live process is writing there: a package without a manifest
may be one that another worker is writing right now.

Every writing process therefore holds a shared `flock` on `<root>/.writers.lock`
for its lifetime. At start a writer first tries to take it exclusively; success
proves no other writer is alive (the kernel drops the locks of a killed process),
so it sweeps, then keeps the lock shared like every other writer.

Example:
    >>> lease = EvidenceRootLease.take(Path("/var/lib/trafficcam/evidence"))  # doctest: +SKIP
    >>> lease.swept.temp_files  # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_NAME = ".writers.lock"
MANIFEST = "manifest.json"


@dataclass
class SweepReport:
    """What one sweep removed; `skipped` when another writer was alive."""

    temp_files: list[Path] = field(default_factory=list)
    incomplete_packages: list[Path] = field(default_factory=list)
    skipped: bool = False


class EvidenceRootLease:
    """A writer's shared lock on an evidence root; `take` sweeps leftovers first.

    Keep the lease for as long as the process writes evidence; `close` (or the
    process ending, however it ends) releases it.
    """

    def __init__(self, root: Path, fd: int, swept: SweepReport) -> None:
        self.root = root
        self.swept = swept
        self._fd: int | None = fd

    @classmethod
    def take(cls, root: Path) -> EvidenceRootLease:
        """Lock `root` for writing; when no other writer holds it, sweep it first."""
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                # Another writer is alive; what looks unfinished may be its work.
                fcntl.flock(fd, fcntl.LOCK_SH)
                report = SweepReport(skipped=True)
            else:
                report = sweep(root)
                fcntl.flock(fd, fcntl.LOCK_SH)
        except BaseException:
            os.close(fd)
            raise
        if report.temp_files or report.incomplete_packages:
            log.warning(
                "evidence %s: removed %d temp file(s) and %d package(s) without a manifest "
                "left by an interrupted writer",
                root, len(report.temp_files), len(report.incomplete_packages),
            )  # fmt: skip
        return cls(root, fd, report)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> EvidenceRootLease:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def sweep(root: Path) -> SweepReport:
    """Remove temp files and manifest-less package directories under `root`.

    Call only while holding the root's exclusive lock (see `EvidenceRootLease`).
    Directories whose name starts with `.` or `_` are not packages and are left alone.
    """
    report = SweepReport()
    for directory in sorted(root.iterdir()):
        if not directory.is_dir() or directory.name[:1] in {".", "_"}:
            continue
        if not (directory / MANIFEST).is_file():
            report.incomplete_packages.append(directory)
            shutil.rmtree(directory, ignore_errors=True)
            continue
        for temp in directory.glob(".*.tmp"):
            report.temp_files.append(temp)
            temp.unlink(missing_ok=True)
    return report
