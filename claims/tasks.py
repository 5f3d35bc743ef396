"""Background jobs of the claims app: the 835 drop folder."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from celery import shared_task
from django.conf import settings

from claims.models import RemittanceFile
from claims.services.remittances import remittance_import
from core.audit import audit_context, system_user
from core.errors import DomainError
from staff.models import Organization

logger = logging.getLogger(__name__)

SUFFIXES = {".835", ".txt", ".edi", ".x12", ".era"}


def drop_folder_scan(root: Path) -> dict[str, int]:
    """Import every file in ``root/<organization slug>/`` and move it to ``processed/`` or,
    with a ``.error.txt`` beside it, to ``failed/``. A file that is still being written (its
    size changes between two looks) waits for the next scan."""
    counts = {"imported": 0, "duplicates": 0, "failed": 0}
    if not root.is_dir():
        return counts
    by = system_user()
    for organization in Organization.objects.filter(
        is_active=True, slug__in=[p.name for p in root.iterdir()]
    ):
        inbox = root / organization.slug
        for path in sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES):
            size = path.stat().st_size
            data = path.read_bytes()
            if len(data) != size:
                continue
            try:
                with audit_context(actor=by, reason="835 drop folder"):
                    outcome = remittance_import(
                        organization=organization,
                        data=data,
                        filename=path.name,
                        channel=RemittanceFile.Channel.DROP_FOLDER,
                        by=by,
                    )
            except DomainError as exc:
                _move(path, inbox / "failed")
                (inbox / "failed" / f"{path.name}.error.txt").write_text(exc.message + "\n")
                counts["failed"] += 1
                logger.warning("drop folder: a file for organization %s was refused", organization.pk)
                continue
            _move(path, inbox / "processed")
            counts["duplicates" if outcome.duplicate else "imported"] += 1
    return counts


def _move(path: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    shutil.move(str(path), target)


@shared_task(ignore_result=True)
def remittance_drop_folder() -> dict[str, int]:
    """Every minute: import the 835 files dropped in ``REMITTANCE_DROP_DIR/<organization slug>/``."""
    counts = drop_folder_scan(Path(settings.REMITTANCE_DROP_DIR))
    if any(counts.values()):
        logger.info("drop folder: %s", counts)
    return counts
