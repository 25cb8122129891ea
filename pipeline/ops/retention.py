"""Evidence retention: delete evidence past its status's age, and make room on a full disk.

Two passes per run (`config.retention`):

1. **Age.** Evidence of a rejected violation goes `rejected_days` after the
   offence; of a confirmed one, `confirmed_days` after it (the legal period).
2. **Disk.** When the evidence disk has less free space than
   `max(min_free_fraction * size, min_free_bytes)`, evidence of the statuses in
   `early_statuses` goes before its age, oldest offence first, one violation at a
   time with the free space measured again (real `statvfs`) after each, until
   there is room. Either way a system alert is raised (stored, and published on
   the `system-alerts` topic): `warning` when room was made, `critical` when
   nothing more may be deleted and the disk is still nearly full. A disk that
   stays stuck like that is alerted again only every `stuck_alert_every_s`.

Evidence of a violation under review (pending, or claimed by an officer) is never
deleted, by either pass. Deleting marks the rows first (violation and evidence
rows keep what the files were; an audit entry says when and why) and commits,
then removes the files: a crash in between leaves files that nothing refers to
as evidence any more, never a row pointing at a missing file unannounced, and
the next process's first run removes them; a failed removal is retried.

Example:
    >>> report = EvidenceRetention(config, sessions).run(dry_run=True)  # doctest: +SKIP
    >>> print(report.summary())
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import AppConfig, RetentionConfig
from pipeline.ops.system_alerts import raise_system_alert
from pipeline.store.models import utcnow
from pipeline.store.retention import (
    EvidenceHolder,
    deletable_evidence,
    evidence_deleted_since,
    mark_evidence_deleted,
)

log = logging.getLogger(__name__)

DISK_ALERT_KIND = "evidence_disk_low"
_PAGE = 200
# How far back the first run of a process looks for packages marked deleted whose files
# a crash may have left behind (the window between the commit and the removal).
LEFTOVER_WINDOW = timedelta(days=2)

Reason = Literal["age", "disk_full"]


class PackageDeleter(Protocol):
    """What retention needs of an evidence store."""

    def delete_package(self, violation_id: str) -> None: ...


@dataclass(frozen=True)
class DiskSpace:
    """Size and free space (for unprivileged writers) of the filesystem, in bytes."""

    total: int
    free: int


def disk_space(path: Path) -> DiskSpace:
    """Measure the filesystem holding `path` (created when missing)."""
    path.mkdir(parents=True, exist_ok=True)
    stat = os.statvfs(path)
    return DiskSpace(total=stat.f_blocks * stat.f_frsize, free=stat.f_bavail * stat.f_frsize)


def evidence_disk(config: AppConfig) -> Path | None:
    """The directory whose filesystem holds the evidence packages; None for a store with no
    local disk (S3), where the disk pass does not apply."""
    store = config.evidence.store
    if getattr(store, "type", "local") != "local":
        return None
    return getattr(store, "path", None) or config.evidence.path


def _open_store(config: AppConfig) -> PackageDeleter:
    from pipeline.evidence import package as evidence

    disk = evidence_disk(config)
    if disk is not None:
        return evidence.LocalEvidenceStore(disk)
    # Deleting needs no signing key: do not create one as a side effect.
    return evidence.open_evidence_store(config.evidence, signing=False)


def minimum_free(space: DiskSpace, settings: RetentionConfig) -> int:
    """Bytes that must stay free: the larger of the fraction and the byte limit."""
    return max(int(space.total * settings.min_free_fraction), settings.min_free_bytes)


@dataclass(frozen=True)
class Deletion:
    """Evidence of one violation that was (or, in a dry run, would be) deleted."""

    violation_id: str
    status: str
    offence_time: datetime
    reason: Reason
    size: int


@dataclass
class RetentionReport:
    """What one run did (or, with `dry_run`, would do)."""

    dry_run: bool
    deletions: list[Deletion] = field(default_factory=list)
    space_before: DiskSpace | None = None
    space_after: DiskSpace | None = None
    minimum_free: int = 0
    alert: str | None = None

    @property
    def freed(self) -> int:
        return sum(d.size for d in self.deletions)

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        text = (
            f"{verb} evidence of {len(self.deletions)} violation(s), "
            f"{_human(self.freed)} by the recorded sizes"
        )
        if self.space_after is not None:
            text += (
                f"; evidence disk {_human(self.space_after.free)} free of "
                f"{_human(self.space_after.total)} (minimum {_human(self.minimum_free)})"
            )
        return text


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class EvidenceRetention:
    """Applies `config.retention` to the evidence store.

    Args:
        config: the app config (`retention`, `evidence.path`, `kafka`).
        session_factory: sessions on the migrated trafficcam database.
        store: where packages are deleted; default the local evidence directory.
        space: measures the evidence disk; default `statvfs` of `evidence.path`.
            None skips the disk pass (a store with no disk of its own, e.g. S3).
        clock: current UTC time.
    """

    def __init__(
        self,
        config: AppConfig,
        session_factory: sessionmaker[Session],
        *,
        store: PackageDeleter | None = None,
        space: Callable[[], DiskSpace] | None | Literal["statvfs"] = "statvfs",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = config.retention
        self.sessions = session_factory
        self.store: PackageDeleter = store or _open_store(config)
        disk = evidence_disk(config)
        if space == "statvfs":
            self.space = (lambda: disk_space(disk)) if disk is not None else None
        else:
            self.space = space
        self.topic = config.kafka.topics.system_alerts if config.kafka else None
        self.clock = clock
        self._leftovers_checked = False
        self._retry: set[str] = set()  # package directories whose removal failed
        self._stuck_alerted_at: datetime | None = None  # last "nothing more to delete" alert

    def run(self, *, dry_run: bool = False) -> RetentionReport:
        """One retention run: leftovers of earlier runs, the age pass, then the disk pass."""
        now = self.clock()
        report = RetentionReport(dry_run=dry_run)
        if not dry_run:
            self._remove_leftovers(now)
        for holder in self._candidates(self._age_limits(now), now):
            self._delete(holder, "age", now, report)
        if self.space is not None:
            self._make_room(now, report)
        return report

    def run_forever(self, stop: threading.Event) -> None:
        """Run every `retention.check_every_s` until `stop` is set; errors are logged."""
        while not stop.is_set():
            try:
                report = self.run()
            except Exception:  # the database or the disk may be briefly away
                log.exception("retention: run failed")
            else:
                if report.deletions or report.alert:
                    log.info("retention: %s", report.summary())
            stop.wait(self.settings.check_every_s)

    def _remove_leftovers(self, now: datetime) -> None:
        """Remove files of evidence already marked deleted: every removal that failed
        in this process, and, on its first run, whatever was marked in the last
        `LEFTOVER_WINDOW` (a crash between the commit and the removal leaves files
        that nothing refers to any more)."""
        directories = set(self._retry)
        if not self._leftovers_checked:
            with self.sessions() as session:
                directories.update(evidence_deleted_since(session, since=now - LEFTOVER_WINDOW))
            self._leftovers_checked = True
        self._retry.clear()
        for directory in sorted(directories):
            self._remove_files(directory)

    def _remove_files(self, directory: str) -> None:
        try:
            self.store.delete_package(directory)
        except Exception as error:  # a disk or S3 error; the rows already say deleted
            log.error("retention: evidence package %s not removed (retried): %s", directory, error)
            self._retry.add(directory)

    def _age_limits(self, now: datetime) -> dict[str, datetime]:
        days = {"rejected": self.settings.rejected_days, "confirmed": self.settings.confirmed_days}
        return {status: now - timedelta(days=d) for status, d in days.items() if d is not None}

    def _candidates(
        self, older_than: Mapping[str, datetime], now: datetime
    ) -> Iterator[EvidenceHolder]:
        """Every qualifying violation, oldest first, a page at a time (keyset paging,
        so a dry run, which marks nothing, still advances)."""
        after: tuple[datetime, str] | None = None
        while True:
            with self.sessions() as session:
                page = deletable_evidence(
                    session, older_than=older_than, now=now, limit=_PAGE, after=after
                )
            yield from page
            if len(page) < _PAGE:
                return
            after = (page[-1].offence_time, page[-1].violation_id)

    def _delete(
        self, holder: EvidenceHolder, reason: Reason, now: datetime, report: RetentionReport
    ) -> bool:
        deletion = Deletion(
            holder.violation_id, holder.status, holder.offence_time, reason, holder.size
        )
        if report.dry_run:
            report.deletions.append(deletion)
            return True
        statuses = self._statuses_for(reason)
        with self.sessions.begin() as session:
            marked = mark_evidence_deleted(
                session, holder, statuses=statuses, reason=reason, at=now
            )
        if not marked:  # claimed or reviewed again since it was listed
            return False
        report.deletions.append(deletion)
        self._remove_files(holder.evidence_dir)
        log.info(
            "retention: deleted evidence of %s violation %s (offence %s, %s)",
            holder.status, holder.violation_id, holder.offence_time.isoformat(), reason,
        )  # fmt: skip
        return True

    def _statuses_for(self, reason: Reason) -> list[str]:
        if reason == "disk_full":
            return list(self.settings.early_statuses)
        return list(self._age_limits(self.clock()))

    def _make_room(self, now: datetime, report: RetentionReport) -> None:
        assert self.space is not None
        space = self.space()
        if report.dry_run:
            # A dry run removes nothing, so it counts the recorded sizes of what the
            # age pass would have removed instead of measuring.
            space = DiskSpace(space.total, space.free + report.freed)
        report.space_before = report.space_after = space
        report.minimum_free = minimum_free(space, self.settings)
        if space.free >= report.minimum_free:
            self._stuck_alerted_at = None  # room again: the next shortage is news
            return
        early: dict[str, datetime] = {status: now for status in self.settings.early_statuses}
        expected_free = space.free
        already = {d.violation_id for d in report.deletions}
        freed_here = 0
        for holder in self._candidates(early, now):
            if holder.violation_id in already:
                continue
            if not self._delete(holder, "disk_full", now, report):
                continue
            freed_here += holder.size
            if report.dry_run:
                expected_free += holder.size
                if expected_free >= report.minimum_free:
                    break
            else:
                space = self.space()
                report.space_after = space
                if space.free >= report.minimum_free:
                    break
        if report.dry_run:
            report.space_after = DiskSpace(space.total, expected_free)
        self._alert(report, freed_here, now)

    def _repeats_stuck_alert(self, now: datetime) -> bool:
        last = self._stuck_alerted_at
        return last is not None and (now - last).total_seconds() < self.settings.stuck_alert_every_s

    def _alert(self, report: RetentionReport, freed: int, now: datetime) -> None:
        before, after = report.space_before, report.space_after
        assert before is not None and after is not None
        short = after.free < report.minimum_free
        count = sum(1 for d in report.deletions if d.reason == "disk_full")
        message = (
            f"evidence disk nearly full: {_human(before.free)} free of {_human(before.total)}, "
            f"minimum {_human(report.minimum_free)}; "
            f"{'would delete' if report.dry_run else 'deleted'} evidence of {count} "
            f"violation(s), oldest first"
        )
        if short:
            message += (
                f"; still {_human(after.free)} free and nothing more may be deleted "
                "(violations under review keep their evidence): add space or list more "
                "statuses in retention.early_statuses"
            )
        report.alert = message
        if report.dry_run:
            return
        if short and count == 0 and self._repeats_stuck_alert(now):
            # Nothing changed since the last alert: an operator paged every
            # `check_every_s` about the same full disk stops reading the pages.
            log.info("retention: %s (already alerted)", message)
            return
        if short:
            self._stuck_alerted_at = now
        log.log(logging.CRITICAL if short else logging.WARNING, "retention: %s", message)
        with self.sessions.begin() as session:
            raise_system_alert(
                session,
                kind=DISK_ALERT_KIND,
                severity="critical" if short else "warning",
                message=message,
                at=now,
                detail={
                    "total_bytes": before.total,
                    "free_bytes_before": before.free,
                    "free_bytes_after": after.free,
                    "minimum_free_bytes": report.minimum_free,
                    "deleted_violations": count,
                    "freed_bytes": freed,
                },
                topic=self.topic,
            )


def start_retention(
    config: AppConfig, session_factory: sessionmaker[Session], stop: threading.Event
) -> threading.Thread | None:
    """Run retention on a thread of its own until `stop` is set (None when disabled).

    Its own thread because deleting many packages can take seconds, which the frame
    loop must never wait for. Several workers may run it at once: marking a
    violation is a conditional UPDATE, so exactly one of them deletes its files.
    """
    if not config.retention.enabled:
        return None
    retention = EvidenceRetention(config, session_factory)
    thread = threading.Thread(
        target=retention.run_forever, args=(stop,), name="evidence-retention", daemon=True
    )
    thread.start()
    return thread
