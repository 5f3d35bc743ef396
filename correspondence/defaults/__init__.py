"""The templates every organization starts with, one file each beside this module.

They are copied into an organization's ``LetterTemplate`` rows the first time they are
needed (``correspondence.services.templates_ensure_defaults``); from then on the
organization's admins edit their copy, and changing a file here changes only the
templates of organizations created afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from correspondence.models import DocumentKind

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class DefaultTemplate:
    kind: str
    name: str
    subject: str
    filename: str

    @cached_property
    def body(self) -> str:
        return (_HERE / self.filename).read_text(encoding="utf-8")


DEFAULTS: tuple[DefaultTemplate, ...] = (
    DefaultTemplate(
        DocumentKind.PATIENT_STATEMENT,
        "Standard patient statement",
        "Patient statement",
        "patient_statement.html",
    ),
    DefaultTemplate(
        DocumentKind.ITEMIZED_STATEMENT,
        "Standard itemized statement",
        "Itemized statement",
        "itemized_statement.html",
    ),
    DefaultTemplate(DocumentKind.LETTER, "Balance reminder letter", "About your account", "letter.html"),
    DefaultTemplate(
        DocumentKind.EMAIL,
        "Statement email",
        "Your {{ statement.kind|lower }} from {{ organization.name }}",
        "statement_email.txt",
    ),
)

DEFAULT_FOR_KIND: dict[str, DefaultTemplate] = {template.kind: template for template in DEFAULTS}
