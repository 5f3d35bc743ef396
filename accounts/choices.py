"""Reason codes for adjustments staff post by hand (835 adjustments carry CARCs instead)."""

from django.db import models


class AdjustmentReason(models.TextChoices):
    SMALL_BALANCE = "SMALL_BAL", "Small balance"
    BAD_DEBT = "BAD_DEBT", "Bad debt"
    CHARITY = "CHARITY", "Charity care / financial assistance"
    UNINSURED_DISCOUNT = "UNINS_DISC", "Uninsured discount"
    PROMPT_PAY = "PROMPT_PAY", "Prompt-pay discount"
    COURTESY = "COURTESY", "Administrative / courtesy"
    CONTRACTUAL = "CONTRACT", "Contractual allowance"
    TIMELY_FILING = "TIMELY", "Timely filing (not billable to patient)"
    POSTING_CORRECTION = "POST_CORR", "Posting correction"
    DECEASED_NO_ESTATE = "DECEASED", "Deceased, no estate"
    BANKRUPTCY = "BANKRUPT", "Bankruptcy"


# Ledger kinds an adjustment may take, and the reasons offered for each.
ADJUSTMENT_KINDS = {
    "contractual_adjustment": [AdjustmentReason.CONTRACTUAL, AdjustmentReason.POSTING_CORRECTION],
    "other_adjustment": [
        AdjustmentReason.CHARITY,
        AdjustmentReason.UNINSURED_DISCOUNT,
        AdjustmentReason.PROMPT_PAY,
        AdjustmentReason.COURTESY,
        AdjustmentReason.POSTING_CORRECTION,
    ],
    "write_off": [
        AdjustmentReason.SMALL_BALANCE,
        AdjustmentReason.BAD_DEBT,
        AdjustmentReason.TIMELY_FILING,
        AdjustmentReason.DECEASED_NO_ESTATE,
        AdjustmentReason.BANKRUPTCY,
    ],
}
