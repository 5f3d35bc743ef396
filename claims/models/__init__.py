"""Claims and everything the payer sends back about them.

- ``claims``: claims and their lines (what was billed, from 837 intake or an account's charges);
- ``remittances``: 835 files as stored structure (file → payment → claim payment → service
  line → adjustment, plus provider-level adjustments);
- ``work``: what posting leaves for people (exceptions, denials, variances) and code texts;
- ``reconciliation``: bank deposits matched to payments, and insurance audits.
"""

from claims.models.claims import Claim, ClaimLine, ClaimNote
from claims.models.reconciliation import AuditDocument, Deposit, InsuranceAudit
from claims.models.remittances import (
    ClaimPayment,
    ProviderAdjustment,
    RemittanceAdjustment,
    RemittanceFile,
    RemittancePayment,
    ServicePayment,
)
from claims.models.work import CodeDescription, Denial, PostingException, Variance

__all__ = [
    "AuditDocument",
    "Claim",
    "ClaimLine",
    "ClaimNote",
    "ClaimPayment",
    "CodeDescription",
    "Denial",
    "Deposit",
    "InsuranceAudit",
    "PostingException",
    "ProviderAdjustment",
    "RemittanceAdjustment",
    "RemittanceFile",
    "RemittancePayment",
    "ServicePayment",
    "Variance",
]
