"""Aging of open balances per responsible bucket: 0-30, 31-60, 61-90, 91-120, over 120 days.

Credits are applied to the oldest debits first (first in, first out), so a payment on an
old charge leaves the newer charges' age alone. A debit's age counts from its effective
date: the service date for charges, the transfer date for balances moved to a new party
(patient aging restarts when a balance becomes the patient's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from accounts.models import ZERO

BANDS = ("0-30", "31-60", "61-90", "91-120", "120+")

_SQL = """
WITH debits AS (
    SELECT coverage_id, effective_date, amount,
           SUM(amount) OVER (PARTITION BY coverage_id ORDER BY effective_date, id) AS running
    FROM accounts_ledgerentry WHERE account_id = %(account)s AND amount > 0
), credits AS (
    SELECT coverage_id, -SUM(amount) AS total
    FROM accounts_ledgerentry WHERE account_id = %(account)s AND amount < 0
    GROUP BY coverage_id
), open_debits AS (
    SELECT d.coverage_id, %(today)s::date - d.effective_date AS age,
           GREATEST(0, LEAST(d.amount, d.running - COALESCE(c.total, 0))) AS open_amount
    FROM debits d LEFT JOIN credits c ON c.coverage_id IS NOT DISTINCT FROM d.coverage_id
)
SELECT coverage_id,
       CASE WHEN age <= 30 THEN 0 WHEN age <= 60 THEN 1 WHEN age <= 90 THEN 2
            WHEN age <= 120 THEN 3 ELSE 4 END,
       SUM(open_amount)
FROM open_debits WHERE open_amount > 0
GROUP BY 1, 2
"""


@dataclass
class BucketAging:
    coverage_id: int | None
    bands: list[Decimal] = field(default_factory=lambda: [ZERO] * len(BANDS))

    @property
    def total(self) -> Decimal:
        return sum(self.bands, ZERO)


def account_aging(account_id: int, today: date | None = None) -> dict[int | None, BucketAging]:
    """Open debit amounts by bucket and age band, in one query whatever the ledger's size."""
    today = today or timezone.localdate()
    result: dict[int | None, BucketAging] = {}
    with connection.cursor() as cursor:
        cursor.execute(_SQL, {"account": account_id, "today": today})
        for coverage_id, band, amount in cursor.fetchall():
            result.setdefault(coverage_id, BucketAging(coverage_id)).bands[band] = amount
    return result
