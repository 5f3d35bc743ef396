from __future__ import annotations

import logging

from celery import shared_task

from accounts.ledger import ledger_drift
from accounts.models import PatientAccount
from core.audit import system_user
from core.timeline import event_record

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def ledger_verify() -> int:
    """Nightly: compare every stored balance with the sum of its ledger entries.

    A difference means something wrote balances outside ``accounts.ledger``. It is
    reported (an error in the log with account ids only, and an event on each affected
    organization's timeline), never silently corrected: someone must find the cause.
    """
    drifts = ledger_drift()
    if not drifts:
        logger.info("ledger balances verified: no drift")
        return 0
    accounts = PatientAccount.objects.filter(pk__in={d.account_id for d in drifts}).select_related(
        "organization"
    )
    by_org: dict = {}
    for account in accounts:
        by_org.setdefault(account.organization, []).append(account)
    for organization, affected in by_org.items():
        event_record(
            organization=organization,
            subject=organization,
            kind="accounts.ledger.drift_found",
            summary=f"Balance check: {len(affected)} account(s) differ from their ledger",
            by=system_user(),
            data={
                "accounts": [str(a.reference) for a in affected[:100]],
                "differences": [
                    {
                        "account_id": d.account_id,
                        "bucket": d.coverage_id,
                        "stored": str(d.stored),
                        "ledger": str(d.ledger),
                    }
                    for d in drifts
                    if d.account_id in {a.pk for a in affected[:100]}
                ],
            },
        )
    logger.error("ledger balance drift on %d bucket(s) in %d organization(s)", len(drifts), len(by_org))
    return len(drifts)
