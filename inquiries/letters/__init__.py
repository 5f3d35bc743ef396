"""The standard benefit-results templates an admin can add to the organization's letter templates."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent

LETTER_NAME = "Benefit investigation results"
LETTER_SUBJECT = "Your benefits and estimated cost"
EMAIL_NAME = "Benefit investigation results email"
EMAIL_SUBJECT = "Your benefits and estimated cost from {{ organization.name }} [Case #{{ case.number }}]"


def letter_body() -> str:
    return (_HERE / "benefit_results.html").read_text(encoding="utf-8")


def email_body() -> str:
    return (_HERE / "benefit_results_email.txt").read_text(encoding="utf-8")
