"""Charges file: one row per charge line, keyed by ``external_id``, posted to the ledger.

A charge is money in the ledger, so a file never changes one: a row whose charge was
already imported with the same values is unchanged, and one with different values is an
error that says how to correct it (reverse the charge on the account, then import the
correction under a new external id). New charges are posted per account with
``accounts.services.post_charges_locked`` under the account's row lock, which writes the
ledger entries, moves the balances and runs the charge edits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.imports.base import (
    DATE_HELP,
    ChoiceCell,
    Column,
    DigitsCell,
    ImportContext,
    ImportKind,
    ListCell,
    MoneyCell,
    ParsedRow,
    choices_help,
    date_cell,
    not_before_1900,
    text_cell,
)
from accounts.ledger import lock_account
from accounts.models import Charge, CodeType, PatientAccount
from accounts.services import ChargeInput, post_charges_locked

ONE = Decimal("1")
# Columns compared with an imported charge, besides the account (column → Charge field).
COMPARED = {
    "service_date": "service_date",
    "code_type": "code_type",
    "code": "code",
    "amount": "amount",
    "modifiers": "modifiers",
    "diagnoses": "diagnoses",
    "units": "units",
    "description": "description",
    "revenue_code": "revenue_code",
    "place_of_service": "place_of_service",
    "rx_number": "rx_number",
    "fill_number": "fill_number",
    "ndc": "ndc",
    "quantity": "quantity",
    "days_supply": "days_supply",
}
# Parts of an NDC written with dashes, padded to the 11-digit 5-4-2 form billing uses.
NDC_PARTS = (5, 4, 2)


def normalize_ndc(text: str) -> str | None:
    """``0002-3227-30`` (4-4-2) → ``00002322730``; 11 plain digits pass; anything else → None."""
    text = text.strip()
    if re.fullmatch(r"\d{11}", text):
        return text
    parts = re.split(r"[-\s]", text)
    if len(parts) == 3 and all(
        p.isdigit() and 0 < len(p) <= n for p, n in zip(parts, NDC_PARTS, strict=True)
    ):
        padded = "".join(p.zfill(n) for p, n in zip(parts, NDC_PARTS, strict=True))
        # A 10-digit NDC pads exactly one of its parts; more padding means a typo.
        if sum(len(p) for p in parts) >= 10:
            return padded
    return None


class NdcCell(forms.CharField):
    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        if not text:
            return ""
        ndc = normalize_ndc(text)
        if ndc is None:
            raise ValidationError("is not an NDC: 11 digits, or 10 or 11 with dashes (5-4-2, 4-4-2…)")
        return ndc


class ChargeRowForm(forms.Form):
    external_id = text_cell(64, required=True)
    account_number = text_cell(38, required=True)
    service_date = date_cell(required=True)
    code_type = ChoiceCell(CodeType, required=True)
    code = text_cell(16, required=True)
    amount = MoneyCell(positive=True)
    modifiers = ListCell(noun="modifier", plural="modifiers", max_items=4, item_length=2, normalize=str.upper)
    diagnoses = ListCell(
        noun="diagnosis",
        plural="diagnoses",
        max_items=12,
        item_length=8,
        normalize=lambda code: code.upper().replace(".", ""),
    )
    units = forms.DecimalField(max_digits=9, decimal_places=3, required=False)
    description = text_cell(200)
    revenue_code = DigitsCell(length=4, what="a revenue code")
    place_of_service = DigitsCell(length=2, what="a place of service code")
    rx_number = text_cell(20)
    fill_number = forms.IntegerField(min_value=0, max_value=32767, required=False)
    ndc = NdcCell(required=False)
    quantity = forms.DecimalField(max_digits=12, decimal_places=3, min_value=0, required=False)
    days_supply = forms.IntegerField(min_value=0, max_value=32767, required=False)

    def clean_service_date(self) -> date:
        day = self.cleaned_data["service_date"]
        not_before_1900(day)
        if day > timezone.localdate():
            raise ValidationError("is in the future", code="future")
        return day

    def clean_code(self) -> str:
        return self.cleaned_data["code"].upper()

    def clean_units(self) -> Decimal:
        units = self.cleaned_data["units"]
        if units is None:
            return ONE
        if units <= 0:
            raise ValidationError("must be more than 0", code="positive")
        return units

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("code_type") == CodeType.NDC and data.get("code"):
            data["code"] = normalize_ndc(data["code"]) or data["code"]
        return data


@dataclass
class ChargePlan:
    # Account id → (account, charges to post), posted in account-id order.
    postings: dict[int, tuple[PatientAccount, list[ChargeInput]]] = field(default_factory=dict)
    unchanged: int = 0

    @property
    def created(self) -> int:
        return sum(len(items) for _, items in self.postings.values())


class ChargeImport(ImportKind):
    name = "charges"
    label = "Charges"
    key = "external_id"
    noun = "charge"
    form_class = ChargeRowForm
    columns = (
        Column(
            "external_id",
            True,
            "Your id for this charge line; the key. A charge is posted once.",
            "CHG-88120-1",
        ),
        Column(
            "account_number", True, "The account it is billed on; the account must exist.", "A-2026-000123"
        ),
        Column("service_date", True, f"Date of service, {DATE_HELP}.", "2026-09-14"),
        Column("code_type", True, f"{choices_help(CodeType)}.", "cpt"),
        Column("code", True, "The CPT, HCPCS, revenue code or NDC billed.", "99213"),
        Column("amount", True, "The charge, more than 0.00 (1234.50 or $1,234.50).", "185.00"),
        Column("modifiers", False, "Up to four, separated by : or spaces.", "25"),
        Column("diagnoses", False, "ICD-10-CM codes, up to twelve, separated by : or spaces.", "E11.9:I10"),
        Column("units", False, "Units, more than 0; empty means 1.", "1"),
        Column("description", False, "What was done.", "Office visit, established patient"),
        Column("revenue_code", False, "Four-digit revenue code (hospital lines).", "0510"),
        Column("place_of_service", False, "Two-digit place of service code.", "11"),
        Column("rx_number", False, "Prescription number (pharmacy).", ""),
        Column("fill_number", False, "Fill number, 0 for the original fill (pharmacy).", ""),
        Column("ndc", False, "National Drug Code (pharmacy), 5-4-2.", ""),
        Column("quantity", False, "Quantity dispensed (pharmacy).", ""),
        Column("days_supply", False, "Days supply (pharmacy).", ""),
    )

    def check(self, rows: list[ParsedRow], ctx: ImportContext) -> ChargePlan:
        organization = ctx.organization
        numbers = {row.get("account_number") for row in rows if row.get("account_number")}
        # Whole rows: post_charges_locked reads the account's balances and financial class.
        accounts = {
            account.account_number: account
            for account in PatientAccount.objects.filter(
                organization=organization, account_number__in=numbers
            )
        }
        keys = {row.get("external_id") for row in rows if row.get("external_id")}
        posted = {
            charge.external_id: charge
            for charge in Charge.objects.filter(organization=organization, external_id__in=keys)
        }
        accounts_by_id = {account.pk: account for account in accounts.values()}
        plan = ChargePlan()
        for row in rows:
            account = accounts.get(row.get("account_number"))
            if row.get("account_number") and account is None:
                ctx.error(
                    row.line,
                    "account_number",
                    f"no account with this number in {organization.name}; import the account first",
                )
            if not row.valid or account is None:
                continue
            charge = posted.get(row.data["external_id"])
            if charge is not None:
                if self._same_as_posted(charge, account, accounts_by_id, row, ctx):
                    plan.unchanged += 1
                continue
            item = self._input(row, ctx)
            # The same validation post_charges_locked runs, now, so that writing cannot fail on it.
            if ctx.model_errors(self._charge(item, account), row.line, exclude=["organization", "account"]):
                continue
            plan.postings.setdefault(account.pk, (account, []))[1].append(item)
        return plan

    def _input(self, row: ParsedRow, ctx: ImportContext) -> ChargeInput:
        data = row.data

        def cell(name: str, default: Any) -> Any:
            return data[name] if ctx.has(name) else default

        return ChargeInput(
            external_id=data["external_id"],
            service_date=data["service_date"],
            code_type=data["code_type"],
            code=data["code"],
            amount=data["amount"],
            units=cell("units", ONE),
            modifiers=tuple(cell("modifiers", ())),
            diagnoses=tuple(cell("diagnoses", ())),
            revenue_code=cell("revenue_code", ""),
            description=cell("description", ""),
            place_of_service=cell("place_of_service", ""),
            rx_number=cell("rx_number", ""),
            fill_number=cell("fill_number", None),
            ndc=cell("ndc", ""),
            quantity=cell("quantity", None),
            days_supply=cell("days_supply", None),
        )

    @staticmethod
    def _charge(item: ChargeInput, account: PatientAccount) -> Charge:
        return Charge(
            organization_id=account.organization_id,
            account=account,
            external_id=item.external_id,
            service_date=item.service_date,
            code_type=item.code_type,
            code=item.code,
            modifiers=list(item.modifiers),
            diagnoses=list(item.diagnoses),
            revenue_code=item.revenue_code,
            description=item.description,
            units=item.units,
            amount=item.amount,
            place_of_service=item.place_of_service,
            rx_number=item.rx_number,
            fill_number=item.fill_number,
            ndc=item.ndc,
            quantity=item.quantity,
            days_supply=item.days_supply,
        )

    def _same_as_posted(
        self,
        charge: Charge,
        account: PatientAccount,
        accounts_by_id: dict[int, PatientAccount],
        row: ParsedRow,
        ctx: ImportContext,
    ) -> bool:
        """True when the row repeats the imported charge; otherwise record why it cannot be imported."""
        key = charge.external_id
        fix = "reverse it on the account and import the corrected charge under a new external_id"
        if charge.account_id != account.pk:
            where = accounts_by_id.get(charge.account_id)
            on = f"account {where.account_number}" if where else "another account"
            ctx.error(row.line, "account_number", f"charge {key} was already posted on {on}; {fix}")
            return False
        same = True
        for column, name in COMPARED.items():
            if not ctx.has(column):
                continue
            old, new = getattr(charge, name), row.data[column]
            if name in ("modifiers", "diagnoses"):
                old, new = list(old), list(new)
            if old == new:
                continue
            same = False
            if name == "amount":
                message = f"charge {key} was already posted with amount {old:.2f}; {fix}"
            elif name == "service_date":
                message = f"charge {key} was already posted for service on {old:%Y-%m-%d}; {fix}"
            elif name in ("code", "code_type"):
                message = f"charge {key} was already posted with another {column.replace('_', ' ')}; {fix}"
            else:
                message = (
                    f"charge {key} was already posted with another {column.replace('_', ' ')}; "
                    "an import does not change posted charges: correct it on the account"
                )
            ctx.error(row.line, column, message)
        return same

    def write(self, plan: ChargePlan, ctx: ImportContext) -> tuple[int, int, int]:
        # Row locks in account-id order, so two imports touching the same accounts cannot deadlock.
        # One price memo for the file: each contract and fee-schedule price is read once.
        prices: dict = {}
        for account_id in sorted(plan.postings):
            account, items = plan.postings[account_id]
            lock_account(account)
            post_charges_locked(account=account, items=items, by=ctx.by, source="import", price_memo=prices)
        return plan.created, 0, plan.unchanged
