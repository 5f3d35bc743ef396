"""The variables a letter template may use, as one invented example.

This is the contract between the templates and whoever builds their context (for
statements, ``accounts.statements.statement_context``; a test holds the two to the
same shape). Admins preview templates against it, and the template page lists its
names. Every person, number and address in it is made up.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

D = Decimal

_SAMPLE: dict[str, Any] = {
    "organization": {
        "name": "Riverside General Hospital",
        "return_address_lines": ["1200 River Road", "Springfield, IL 62701"],
        "billing_phone": "(217) 555-0142",
        "billing_hours": "Monday to Friday, 8 a.m. to 5 p.m.",
        "payable_to": "Riverside General Hospital",
        "payment_address_lines": ["PO Box 4410", "Springfield, IL 62708"],
        "payment_portal_url": "https://pay.example.org",
        "assistance_phone": "(217) 555-0199",
        "assistance_url": "https://example.org/financial-assistance",
    },
    "statement": {
        "kind": "Patient statement",
        "date": "11/03/2026",
        "due_date": "12/03/2026",
    },
    "guarantor": {
        "name": "Maria Gonzalez",
        "relationship": "Self",
        "address_lines": ["418 Elm Street", "Apt 2", "Springfield, IL 62704"],
    },
    "patient": {
        "name": "Maria L. Gonzalez",
        "preferred_language": "Spanish",
    },
    "account": {
        "number": "A100234",
        "facility": "Riverside Family Clinic",
        "kind": "Professional",
        "financial_class": "Commercial",
        "status": "Open",
        "service_dates": "09/01/2026 to 09/03/2026",
        "service_from": "09/01/2026",
        "service_to": "09/03/2026",
        "financial_assistance_pending": False,
        "dispute_hold": False,
    },
    "balances": {
        "total": D("95.00"),
        "patient": D("60.00"),
        "insurance_pending": D("35.00"),
        "amount_due": D("60.00"),
        "credit": D("0.00"),
    },
    "aging": [
        {"band": "0-30", "label": "0-30 days", "amount": D("60.00")},
        {"band": "31-60", "label": "31-60 days", "amount": D("0.00")},
        {"band": "61-90", "label": "61-90 days", "amount": D("0.00")},
        {"band": "91-120", "label": "91-120 days", "amount": D("0.00")},
        {"band": "120+", "label": "Over 120 days", "amount": D("0.00")},
    ],
    "coverages": [
        {
            "priority": "Primary",
            "payer": "Prairie Health",
            "plan": "Choice PPO",
            "member_id": "PRH448812",
            "pending": D("35.00"),
        },
    ],
    "charges": [
        {
            "date": "09/01/2026",
            "code_type": "CPT",
            "code": "99214",
            "modifiers": "25",
            "revenue_code": "",
            "description": "Office visit, established patient",
            "units": "1",
            "amount": D("180.00"),
            "reversed": False,
        },
        {
            "date": "09/03/2026",
            "code_type": "CPT",
            "code": "36415",
            "modifiers": "",
            "revenue_code": "",
            "description": "Routine venipuncture",
            "units": "1",
            "amount": D("35.00"),
            "reversed": False,
        },
    ],
    "lines": [
        {
            "date": "09/01/2026",
            "kind": "Charge",
            "code": "99214",
            "modifiers": "25",
            "description": "Office visit, established patient",
            "units": "1",
            "party": "Prairie Health",
            "amount": D("180.00"),
            "running_balance": D("180.00"),
            "is_charge": True,
        },
        {
            "date": "09/03/2026",
            "kind": "Charge",
            "code": "36415",
            "modifiers": "",
            "description": "Routine venipuncture",
            "units": "1",
            "party": "Prairie Health",
            "amount": D("35.00"),
            "running_balance": D("215.00"),
            "is_charge": True,
        },
        {
            "date": "10/02/2026",
            "kind": "Insurance payment",
            "code": "",
            "modifiers": "",
            "description": "Paid by Prairie Health",
            "units": "",
            "party": "Prairie Health",
            "amount": D("-100.00"),
            "running_balance": D("115.00"),
            "is_charge": False,
        },
        {
            "date": "10/02/2026",
            "kind": "Contractual adjustment",
            "code": "",
            "modifiers": "",
            "description": "Contractual allowance (Prairie Health)",
            "units": "",
            "party": "Prairie Health",
            "amount": D("-20.00"),
            "running_balance": D("95.00"),
            "is_charge": False,
        },
        {
            "date": "10/02/2026",
            "kind": "Transfer",
            "code": "",
            "modifiers": "",
            "description": "Moved from Prairie Health",
            "units": "",
            "party": "Prairie Health",
            "amount": D("-60.00"),
            "running_balance": D("35.00"),
            "is_charge": False,
        },
        {
            "date": "10/02/2026",
            "kind": "Transfer",
            "code": "",
            "modifiers": "",
            "description": "Moved to you",
            "units": "",
            "party": "You",
            "amount": D("60.00"),
            "running_balance": D("95.00"),
            "is_charge": False,
        },
    ],
    "totals": {
        "charges": D("215.00"),
        "insurance_payments": D("-100.00"),
        "patient_payments": D("0.00"),
        "adjustments": D("-20.00"),
        "refunds": D("0.00"),
        "transfers": D("0.00"),
        "balance": D("95.00"),
    },
}


def sample_context(*, organization: dict[str, Any] | None = None, kind_label: str = "") -> dict[str, Any]:
    """A fresh copy of the example; ``organization`` replaces the invented letterhead with a real one."""
    context = copy.deepcopy(_SAMPLE)
    if organization is not None:
        context["organization"] = copy.deepcopy(organization)
    if kind_label:
        context["statement"]["kind"] = kind_label
    return context


def variable_names(value: Any = None, prefix: str = "") -> list[tuple[str, str]]:
    """``[("account.number", "A100234"), ("lines", "list of: date, kind, …"), …]`` for the template page."""
    value = _SAMPLE if value is None else value
    names: list[tuple[str, str]] = []
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            names.extend(variable_names(item, f"{name}."))
        elif isinstance(item, list):
            fields = ", ".join(item[0]) if item and isinstance(item[0], dict) else "text"
            names.append((name, f"list; each has {fields}"))
        else:
            names.append((name, str(item)))
    return names
