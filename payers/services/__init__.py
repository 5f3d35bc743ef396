"""Every change to the payer master goes through here.

Each entry-point service runs in its own durable transaction, locks what it changes,
checks the acting user's permission again (defence in depth), records row history with
a reason and a timeline event. Payer-related events go on the organization's timeline
with the payer as subject; notice events have the notice as subject.

Effective-dated rows (payer rules, contracts, fee schedule entries) never overlap for
the same thing: two rules of one payer in force on the same day would make "which
timely-filing limit applies" a guess. A new row whose dates overlap another is refused
with a message naming the other row, unless the caller asks with ``end_previous=True``
to end the row in force on the new start date the day before. That is the common case
(the payer shortens its limit from 1 July), and it is done explicitly, with its own
history row, never silently. Rows that start on or after the new row are never moved.
Changes to one payer's rules and contracts are serialized by locking the payer row
first; changes to one contract's fee schedule by locking the contract row.

Nothing is hard-deleted except an appeal level removed from a rule (its history keeps
it): payers and plans are deactivated, rules and prices are ended.
"""

from payers.services._helpers import overlapping
from payers.services.contracts import (
    CONTRACT_FIELDS,
    FEE_ENTRY_FIELDS,
    FeeChange,
    FeeImportResult,
    contract_create,
    contract_update,
    fee_price_text,
    fee_schedule_entry_create,
    fee_schedule_entry_update,
    fee_schedule_import,
)
from payers.services.notices import (
    NOTICE_FIELDS,
    notice_acknowledge,
    notice_publish,
    notice_update,
    notice_withdraw,
)
from payers.services.payer import (
    PAYER_FIELDS,
    PLAN_FIELDS,
    payer_create,
    payer_set_active,
    payer_update,
    plan_create,
    plan_set_active,
    plan_update,
)
from payers.services.rules import (
    LEVEL_FIELDS,
    RULE_FIELDS,
    appeal_level_add,
    appeal_level_remove,
    appeal_level_update,
    payer_rule_create,
    payer_rule_update,
)

__all__ = [
    "CONTRACT_FIELDS",
    "FEE_ENTRY_FIELDS",
    "LEVEL_FIELDS",
    "NOTICE_FIELDS",
    "PAYER_FIELDS",
    "PLAN_FIELDS",
    "RULE_FIELDS",
    "FeeChange",
    "FeeImportResult",
    "appeal_level_add",
    "appeal_level_remove",
    "appeal_level_update",
    "contract_create",
    "contract_update",
    "fee_price_text",
    "fee_schedule_entry_create",
    "fee_schedule_entry_update",
    "fee_schedule_import",
    "notice_acknowledge",
    "notice_publish",
    "notice_update",
    "notice_withdraw",
    "overlapping",
    "payer_create",
    "payer_rule_create",
    "payer_rule_update",
    "payer_set_active",
    "payer_update",
    "plan_create",
    "plan_set_active",
    "plan_update",
]
