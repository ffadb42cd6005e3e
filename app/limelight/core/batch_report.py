"""The batch report: ``limelight-batch-report.json``, every photo's outcome, kept valid.

The report is rewritten atomically (``atomic.atomic_path``) as photos finish, at
most every ``INTERVAL_S`` seconds (so a batch of thousands of photos does not spend its time
rewriting it), and once more at the end; a batch killed midway therefore leaves a complete
JSON document whose ``state`` is ``"running"`` (at the end: ``"finished"``, ``"cancelled"``
or ``"interrupted"``) and whose photos are at most ``INTERVAL_S``
out of date.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limelight.core.atomic import atomic_path
from limelight.core.recipe import Recipe, recipe_to_dict

if TYPE_CHECKING:
    from limelight.core.batch import BatchJob, FileResult

log = logging.getLogger(__name__)

REPORT_NAME = "limelight-batch-report.json"
REPORT_VERSION = 1
INTERVAL_S = 0.5


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ReportWriter:
    """Writes the report of one batch; ``write`` returns the path, or None if it failed."""

    def __init__(self, path: Path, job: BatchJob, recipe: Recipe, device: str) -> None:
        self.path = path
        self._last = 0.0
        self._failed = False
        self._head: dict[str, Any] = {
            "limelight_batch_report": REPORT_VERSION,
            "started": _now(),
            "device": device,
            "options": {
                "output_folder": str(job.out_dir), "name": job.name, "format": job.fmt,
                "quality": job.quality, "bit_depth": job.bit_depth,
                "on_exists": job.on_exists, "placement": job.placement,
                "recursive": job.recursive, "jobs": job.jobs, "cluster": job.cluster,
            },
            "recipe": recipe_to_dict(recipe),
        }

    def write(self, files: Sequence[FileResult], seconds: float, *, force: bool,
              final: bool = False, cancelled: bool | str = False) -> Path | None:
        """Rewrites the report (at most every ``INTERVAL_S`` unless ``force``). ``final``:
        the batch ended; its state is then ``cancelled`` (a string: how it was stopped,
        e.g. ``"interrupted"``) or ``"finished"``."""
        now = time.monotonic()
        if not force and now - self._last < INTERVAL_S:
            return self.path
        self._last = now
        stopped = cancelled if isinstance(cancelled, str) else "cancelled"
        state = (stopped if cancelled else "finished") if final else "running"
        entries = [{"index": f.index, "input": str(f.input), "output": str(f.output),
                    "status": "pending" if f.status == "running" else f.status,
                    "reason": f.reason, "seconds": round(f.seconds, 3)} for f in files]
        doc = {
            **self._head,
            "state": state,
            "updated": _now(),
            "seconds": round(seconds, 3),
            "summary": {s: sum(1 for e in entries if e["status"] == s)
                        for s in ("done", "skipped", "failed", "cancelled", "pending")},
            "files": entries,
        }
        return self._replace(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", final)

    def _replace(self, text: str, sync: bool) -> Path | None:
        try:
            with atomic_path(self.path, sync=sync) as tmp:
                tmp.write_text(text, encoding="utf-8")
        except OSError as err:
            if not self._failed:
                log.warning("could not write the batch report %s: %s", self.path, err)
            self._failed = True
            return None
        return self.path
