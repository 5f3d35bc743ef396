"""Adjustment reason codes (CARC) in our own words: what kind of problem a code points to,
whether it is a denial someone must work, and what to do next.

Only codes and our own labels live here. The official CARC/RARC texts are X12's licensed
work; an organization loads them from its own copy (``claims.services.codes``) and pages
show them beside these labels. An unknown or stop-dated code never stops posting.
"""

from __future__ import annotations

from dataclasses import dataclass

from claims.models.work import DenialCategory

# CLP02 claim status codes (5010, element 1029) and what posting does with them.
CLAIM_STATUS_LABELS = {
    "1": "Processed as primary",
    "2": "Processed as secondary",
    "3": "Processed as tertiary",
    "4": "Denied",
    "19": "Processed as primary, forwarded",
    "20": "Processed as secondary, forwarded",
    "21": "Processed as tertiary, forwarded",
    "22": "Reversal of previous payment",
    "23": "Not our claim, forwarded",
    "25": "Predetermination pricing only, no payment",
}
PROCESSED_STATUSES = frozenset({"1", "2", "3", "19", "20", "21"})
FORWARDED_STATUSES = frozenset({"19", "20", "21"})
INFORMATION_ONLY_STATUSES = frozenset({"23", "25"})

GROUP_LABELS = {
    "CO": "Contractual obligation",
    "PR": "Patient responsibility",
    "OA": "Other adjustment",
    "PI": "Payer-initiated reduction",
    "CR": "Correction/reversal (legacy)",
}


@dataclass(frozen=True)
class CarcInfo:
    label: str
    category: str | None  # a DenialCategory when the code is a denial to work, else None
    action: str = ""


_CAT = DenialCategory

# Codes that explain an ordinary payment (cost sharing, contract write-downs, prior payers).
_PAYMENT_CODES = {
    "1": "Deductible",
    "2": "Coinsurance",
    "3": "Copay",
    "23": "Prior payer's adjudication",
    "42": "Charges exceed fee maximum (stop-dated; see 45)",
    "45": "Charge exceeds contracted amount",
    "59": "Multiple or concurrent procedure reduction",
    "66": "Blood deductible",
    "94": "Processed in excess of charges",
    "100": "Payment made to patient",
    "104": "Managed care withholding",
    "131": "Claim-specific negotiated discount",
    "142": "Monthly Medicaid patient liability",
    "144": "Incentive adjustment",
    "187": "Consumer spending account payment",
    "223": "Mandated adjustment",
    "237": "Legislated or regulatory penalty",
    "253": "Sequestration",
    "A2": "Contractual allowance (legacy)",
}

_DENIAL_CODES: dict[str, tuple[str, str, str]] = {
    # code: (label, category, recommended next action)
    "4": (
        "Modifier inconsistent or missing",
        _CAT.CODING,
        "Correct the modifier and send a replacement claim.",
    ),
    "5": (
        "Procedure or bill type inconsistent with place of service",
        _CAT.CODING,
        "Check the place of service or type of bill, then correct and resubmit.",
    ),
    "6": (
        "Procedure inconsistent with patient's age",
        _CAT.CODING,
        "Verify the code and date of birth; correct and resubmit.",
    ),
    "7": (
        "Procedure inconsistent with patient's gender",
        _CAT.CODING,
        "Verify the code and the patient's sex; correct and resubmit.",
    ),
    "11": (
        "Diagnosis inconsistent with procedure",
        _CAT.CODING,
        "Review the diagnosis coding with coding staff and resubmit.",
    ),
    "15": (
        "Authorization number missing or invalid",
        _CAT.AUTHORIZATION,
        "Find the authorization number and send a corrected claim.",
    ),
    "16": (
        "Claim lacks information",
        _CAT.MISSING_INFORMATION,
        "Read the remark codes, add what is missing and resubmit.",
    ),
    "18": (
        "Exact duplicate claim or service",
        _CAT.DUPLICATE,
        "Check the original claim's status; do not resubmit unless it was never paid.",
    ),
    "22": (
        "Care may be covered by another payer",
        _CAT.COORDINATION_OF_BENEFITS,
        "Confirm other coverage with the patient and bill the primary payer first.",
    ),
    "24": (
        "Covered by a capitation or managed care plan",
        _CAT.CAPITATION,
        "Bill the managed care plan or the capitated group instead.",
    ),
    "26": (
        "Expenses incurred before coverage",
        _CAT.ELIGIBILITY,
        "Verify eligibility dates; bill another coverage or the patient.",
    ),
    "27": (
        "Expenses incurred after coverage terminated",
        _CAT.ELIGIBILITY,
        "Verify eligibility and look for new coverage; bill the patient if none.",
    ),
    "29": (
        "Time limit for filing has expired",
        _CAT.TIMELY_FILING,
        "Look for proof of timely filing; appeal with it, otherwise write off "
        "(the patient cannot be billed).",
    ),
    "31": (
        "Patient cannot be identified as our insured",
        _CAT.ELIGIBILITY,
        "Verify the member id, name and date of birth; correct and resubmit.",
    ),
    "39": (
        "Services denied at the time authorization was requested",
        _CAT.AUTHORIZATION,
        "Review the authorization denial; appeal with clinical documentation.",
    ),
    "50": (
        "Not deemed a medical necessity",
        _CAT.MEDICAL_NECESSITY,
        "Appeal with medical records and a letter of medical necessity.",
    ),
    "55": (
        "Experimental or investigational",
        _CAT.MEDICAL_NECESSITY,
        "Appeal with clinical evidence, or bill the patient if a waiver was signed.",
    ),
    "96": (
        "Non-covered charge",
        _CAT.NON_COVERED,
        "Check the benefit; bill the patient if an advance notice was signed.",
    ),
    "97": (
        "Included in another service already adjudicated",
        _CAT.CODING,
        "Review bundling edits; add a modifier and resubmit if the service was distinct.",
    ),
    "109": (
        "Not covered by this payer",
        _CAT.COORDINATION_OF_BENEFITS,
        "Bill the correct payer shown on the remit or verified with the patient.",
    ),
    "119": ("Benefit maximum reached", _CAT.NON_COVERED, "Bill secondary coverage or the patient."),
    "140": (
        "Patient/insured health id number and name do not match",
        _CAT.ELIGIBILITY,
        "Correct the member id or name and resubmit.",
    ),
    "146": (
        "Diagnosis invalid for the date of service",
        _CAT.CODING,
        "Correct the diagnosis code and resubmit.",
    ),
    "151": (
        "Payment adjusted: frequency or number of services",
        _CAT.MEDICAL_NECESSITY,
        "Appeal with documentation supporting the units or frequency.",
    ),
    "167": (
        "Diagnosis not covered",
        _CAT.NON_COVERED,
        "Review diagnosis coding; appeal or bill the patient.",
    ),
    "170": (
        "Payment denied when performed by this provider type",
        _CAT.NON_COVERED,
        "Check provider enrollment and credentialing with the payer.",
    ),
    "181": (
        "Procedure code invalid on the date of service",
        _CAT.CODING,
        "Correct the procedure code and resubmit.",
    ),
    "182": ("Modifier invalid on the date of service", _CAT.CODING, "Correct the modifier and resubmit."),
    "183": ("Referring provider not eligible", _CAT.AUTHORIZATION, "Get a valid referral and resubmit."),
    "185": ("Rendering provider not eligible", _CAT.ELIGIBILITY, "Check provider enrollment with the payer."),
    "197": (
        "Precertification/authorization absent",
        _CAT.AUTHORIZATION,
        "Request a retro-authorization or appeal with proof of authorization.",
    ),
    "198": (
        "Precertification/authorization exceeded",
        _CAT.AUTHORIZATION,
        "Request an authorization extension and appeal.",
    ),
    "200": (
        "Expenses incurred during lapse in coverage",
        _CAT.ELIGIBILITY,
        "Verify coverage dates; bill another coverage or the patient.",
    ),
    "204": (
        "Service not covered under the patient's benefit plan",
        _CAT.NON_COVERED,
        "Check the benefit; bill the patient if allowed.",
    ),
    "226": (
        "Information requested was not provided or insufficient",
        _CAT.MISSING_INFORMATION,
        "Send the requested records and ask for reconsideration.",
    ),
    "227": (
        "Information requested from the patient was not provided",
        _CAT.MISSING_INFORMATION,
        "Contact the patient to answer the payer's questionnaire (e.g. accident or COB).",
    ),
    "251": (
        "Attachment or documentation missing or inadequate",
        _CAT.MISSING_INFORMATION,
        "Send the required attachment and resubmit.",
    ),
    "252": (
        "An attachment is required",
        _CAT.MISSING_INFORMATION,
        "Send the required attachment and resubmit.",
    ),
    "B7": (
        "Provider not certified for this procedure on this date",
        _CAT.ELIGIBILITY,
        "Check provider certification and enrollment.",
    ),
    "B9": ("Patient enrolled in hospice", _CAT.COORDINATION_OF_BENEFITS, "Bill the hospice provider."),
    "B15": (
        "Requires a qualifying service not received",
        _CAT.CODING,
        "Review bundling with the related service.",
    ),
}

DEFAULT_ACTION = "Read the codes and remarks, call the payer if unclear, then correct and resubmit or appeal."


def carc_info(code: str) -> CarcInfo:
    code = (code or "").strip().upper()
    if code in _PAYMENT_CODES:
        return CarcInfo(_PAYMENT_CODES[code], None)
    if code in _DENIAL_CODES:
        label, category, action = _DENIAL_CODES[code]
        return CarcInfo(label, category, action)
    return CarcInfo("", _CAT.OTHER, DEFAULT_ACTION)


def carc_label(code: str) -> str:
    """Our short wording for a CARC, or "" when we have none (the official text may be loaded)."""
    return carc_info(code).label


def is_denial_code(code: str) -> bool:
    """A code that explains a refusal to pay rather than an ordinary payment reduction."""
    return carc_info(code).category is not None


def denial_category(codes: list[str]) -> tuple[str, str]:
    """(category, recommended action) for a set of CARCs: the first code we know decides."""
    known = [carc_info(c) for c in codes if c.strip().upper() in _DENIAL_CODES]
    if known:
        return known[0].category or _CAT.OTHER, known[0].action or DEFAULT_ACTION
    return _CAT.OTHER, DEFAULT_ACTION
