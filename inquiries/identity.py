"""Checking what a caller says about the patient against the record.

The rep types the caller's answers; the system compares them, so a verification never
rests on someone reading the record aloud to be confirmed. Only which identifiers
matched is kept, never the answers themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from accounts.models import Coverage, Patient, PatientAccount
from accounts.querysets import parse_search_date, phone_digits
from inquiries.models import Identifier

# Street words written in full or abbreviated; both sides are reduced to the USPS abbreviation.
_STREET_WORDS = {
    "street": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "drive": "dr",
    "boulevard": "blvd",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "terrace": "ter",
    "circle": "cir",
    "highway": "hwy",
    "parkway": "pkwy",
    "apartment": "apt",
    "suite": "ste",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}


def normalize_address(text: str) -> list[str]:
    """``"418 Elm Street, Apt. 2"`` → ``["418", "elm", "st", "apt", "2"]``."""
    words = re.sub(r"[^a-z0-9 ]+", " ", (text or "").lower()).split()
    return [_STREET_WORDS.get(word, word) for word in words if word != "#"]


@dataclass(frozen=True)
class CheckResult:
    matched: list[str]
    mismatched: list[str]


def _matches(identifier: str, answer: Any, patient: Patient) -> bool:
    if identifier == Identifier.DATE_OF_BIRTH:
        day = answer if isinstance(answer, date) else parse_search_date(str(answer).strip())
        return day is not None and day == patient.date_of_birth
    text = str(answer).strip()
    if identifier == Identifier.ADDRESS:
        said = normalize_address(text)
        return bool(said) and said == normalize_address(patient.address_line1)
    if identifier == Identifier.ACCOUNT_NUMBER:
        return PatientAccount.objects.filter(patient=patient, account_number__iexact=text).exists()
    if identifier == Identifier.MEMBER_ID:
        return Coverage.objects.filter(patient=patient, member_id__iexact=text).exists()
    if identifier == Identifier.SSN_LAST4:
        digits = re.sub(r"\D", "", text)
        return bool(patient.ssn_last4) and digits == patient.ssn_last4
    if identifier == Identifier.PHONE:
        digits = phone_digits(text)
        return bool(digits) and digits in {patient.phone, patient.mobile_phone} - {""}
    return False


def check_answers(patient: Patient, answers: dict[str, Any], accepted: list[str]) -> CheckResult:
    """Compare each answered identifier the policy accepts; unanswered ones are neither."""
    matched, mismatched = [], []
    for identifier in accepted:
        answer = answers.get(identifier)
        if answer in (None, ""):
            continue
        (matched if _matches(identifier, answer, patient) else mismatched).append(identifier)
    return CheckResult(matched, mismatched)
