"""Forms and list filters of the posting pages (remittances, exceptions, denials, variances).

The FilterSets are shared by the pages and the API: query strings mean the same in both
(``?status=open&payer=<reference>``), so a filtered page's URL and an API call agree.
Forms check the shape of what a person typed; the posting services check the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from accounts.forms import MoneyFormField
from claims.codes import CLAIM_STATUS_LABELS
from claims.models import Denial, PostingException, RemittanceFile, Variance
from claims.models.remittances import RemittanceFileChannel, RemittanceFileStatus
from claims.models.work import DenialCategory, PostingExceptionKind, VarianceKind, WorkStatus
from claims.selectors import OPEN_STATUSES
from claims.services.remittances import ManualAdjustment, ManualClaim, ManualEob, ManualLine
from payers.models import Payer

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ZERO = Decimal("0.00")

# --- list filters -------------------------------------------------------------------------------

ACTIVE = "active"
WORK_STATUS_CHOICES = [
    (ACTIVE, "Open or in progress"),
    *WorkStatus.choices,
    ("all", "Any status"),
]


class WorkStatusFilterMixin:
    """``status``: open or in-progress items unless asked otherwise (what is left to work)."""

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "all":
            return queryset
        if value in WorkStatus.values:
            return queryset.filter(status=value)
        return queryset.filter(status__in=OPEN_STATUSES)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)  # type: ignore[misc]
        if not self.form.cleaned_data.get("status"):  # type: ignore[attr-defined]
            queryset = queryset.filter(status__in=OPEN_STATUSES)
        return queryset


def _work_status_filter() -> django_filters.ChoiceFilter:
    return django_filters.ChoiceFilter(
        choices=WORK_STATUS_CHOICES,
        method="filter_status",
        empty_label=None,
        label="Status",
        help_text="`active` (the default): open or in progress; `all`: any status.",
    )


def _payer_filter(field_name: str) -> django_filters.UUIDFilter:
    return django_filters.UUIDFilter(field_name=field_name, label="Payer", help_text="Reference of a payer.")


def payer_select(filterset: django_filters.FilterSet, payers: list[Payer]) -> None:
    """Show the ``payer`` filter of a page as a list of the organization's payers (values stay references)."""
    choices = [("", "Any payer"), *[(str(p.reference), p.name) for p in payers]]
    filterset.form.fields["payer"].widget = forms.Select(choices=choices)


class RemittanceFileFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        field_name="filename",
        lookup_expr="icontains",
        label="File name",
        help_text="File name contains this.",
    )
    status = django_filters.ChoiceFilter(choices=RemittanceFileStatus.choices, empty_label="Any status")
    channel = django_filters.ChoiceFilter(choices=RemittanceFileChannel.choices, empty_label="Any channel")
    received_from = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label="Received from",
        widget=DATE_INPUT,
        help_text="Received on or after this day.",
    )
    received_to = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        label="Received to",
        widget=DATE_INPUT,
        help_text="Received on or before this day.",
    )

    class Meta:
        model = RemittanceFile
        fields = ["q", "status", "channel", "received_from", "received_to"]


ASSIGNED_CHOICES = [("me", "Assigned to me"), ("unassigned", "Not assigned")]


class PostingExceptionFilterSet(WorkStatusFilterMixin, django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=PostingExceptionKind.choices, empty_label="Any kind")
    status = _work_status_filter()
    payer = _payer_filter("payment__payer__reference")
    assigned = django_filters.ChoiceFilter(
        choices=ASSIGNED_CHOICES,
        method="filter_assigned",
        empty_label="Anyone or no one",
        label="Assigned",
        help_text="`me`: assigned to you; `unassigned`: to nobody.",
    )
    file = django_filters.UUIDFilter(
        field_name="payment__file__reference", label="File", help_text="Reference of a remittance file."
    )

    class Meta:
        model = PostingException
        fields = ["kind", "status", "payer", "assigned", "file"]

    def filter_assigned(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(assigned_to_id=getattr(user, "pk", None))
        if value == "unassigned":
            return queryset.filter(assigned_to__isnull=True)
        return queryset


class DenialFilterSet(WorkStatusFilterMixin, django_filters.FilterSet):
    payer = _payer_filter("payer__reference")
    carc = django_filters.CharFilter(
        method="filter_carc", label="CARC", help_text="A claim adjustment reason code, e.g. 29 or CO-29."
    )
    category = django_filters.ChoiceFilter(choices=DenialCategory.choices, empty_label="Any category")
    status = _work_status_filter()
    denied_from = django_filters.DateFilter(
        field_name="denied_on", lookup_expr="gte", label="Denied from", widget=DATE_INPUT
    )
    denied_to = django_filters.DateFilter(
        field_name="denied_on", lookup_expr="lte", label="Denied to", widget=DATE_INPUT
    )

    class Meta:
        model = Denial
        fields = ["payer", "carc", "category", "status", "denied_from", "denied_to"]

    def filter_carc(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        code = value.strip().upper()
        group, _, reason = code.rpartition("-")
        if group:
            queryset = queryset.filter(group_codes__contains=[group])
        return queryset.filter(carc_codes__contains=[reason]) if reason else queryset


class VarianceFilterSet(WorkStatusFilterMixin, django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=VarianceKind.choices, empty_label="Any kind")
    status = _work_status_filter()
    payer = _payer_filter("payer__reference")
    identified_from = django_filters.DateFilter(
        field_name="identified_on", lookup_expr="gte", label="Identified from", widget=DATE_INPUT
    )
    identified_to = django_filters.DateFilter(
        field_name="identified_on", lookup_expr="lte", label="Identified to", widget=DATE_INPUT
    )

    class Meta:
        model = Variance
        fields = ["kind", "status", "payer", "identified_from", "identified_to"]


# --- actions ------------------------------------------------------------------------------------


class RemittanceUploadForm(forms.Form):
    file = forms.FileField(
        label="835 file",
        allow_empty_file=True,  # refused in clean_file, with the file's name
        help_text="An X12 835 remittance as the payer or clearinghouse sent it (any file name).",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size == 0:
            raise forms.ValidationError(f"{upload.name} is empty: choose the 835 file again.")
        return upload


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What you did or found; kept with the exception.",
    )
    claim = forms.UUIDField(
        required=False,
        label="Claim",
        help_text="The claim this payment belongs to (unmatched and ambiguous).",
    )

    def __init__(self, *args: Any, needs_claim: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.needs_claim = needs_claim
        self.fields["claim"].required = needs_claim
        # Matching says what was done; a note is optional then.
        self.fields["resolution"].required = not needs_claim
        if needs_claim:
            self.fields["claim"].error_messages["required"] = "Pick the claim this payment belongs to."


class DismissForm(forms.Form):
    reason = forms.CharField(
        max_length=500, help_text="Why nothing needs to be done; kept with the exception."
    )


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=WorkStatus.choices)
    note = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when you resolve or dismiss.",
    )

    def __init__(self, *args: Any, item: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = item.TRANSITIONS.get(item.status, set())
        self.fields["status"].choices = [(v, label) for v, label in WorkStatus.choices if v in allowed]

    def clean(self) -> dict:
        data = super().clean()
        if (
            data.get("status") in (WorkStatus.RESOLVED, WorkStatus.DISMISSED)
            and not data.get("note", "").strip()
        ):
            self.add_error(
                "note", "Say what was done (or why nothing is needed) when you resolve or dismiss."
            )
        return data


# --- manual EOB entry ---------------------------------------------------------------------------

MAX_CLAIMS = 50
MAX_LINES = 50
CLAIM_ADJUSTMENT_SLOTS = 3
LINE_ADJUSTMENT_SLOTS = 4
GROUP_CHOICES = [("", "—"), ("CO", "CO"), ("PR", "PR"), ("OA", "OA"), ("PI", "PI")]
METHOD_CHOICES = [("CHK", "Check"), ("ACH", "EFT / ACH"), ("NON", "No payment (zero-pay notice)")]
STATUS_CODE_CHOICES = [(code, f"{code} · {meaning}") for code, meaning in CLAIM_STATUS_LABELS.items()]
_REASON_CODE = re.compile(r"^[A-Z0-9]{1,5}$")
_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")


def _small(widget: forms.Widget, extra_class: str = "") -> forms.Widget:
    widget.attrs["class"] = f"form-control form-control-sm {extra_class}".strip()
    return widget


def _money(label: str, required: bool = True) -> MoneyFormField:
    # Amounts line up on the right, as in the tables that show them.
    return MoneyFormField(
        label=label,
        required=required,
        widget=_small(forms.TextInput(attrs={"inputmode": "decimal"}), "text-end"),
    )


@dataclass(frozen=True)
class AdjustmentSlot:
    number: int
    group: forms.BoundField
    reason: forms.BoundField
    amount: forms.BoundField


class AdjustmentsMixin:
    """Up to ``slots`` CAS triplets (group, reason, amount), each all or nothing."""

    slots = 0

    def add_adjustment_fields(self) -> None:
        for n in range(1, self.slots + 1):
            self.fields[f"adj{n}_group"] = forms.ChoiceField(  # type: ignore[attr-defined]
                label=f"Adjustment {n} group",
                choices=GROUP_CHOICES,
                required=False,
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )
            self.fields[f"adj{n}_reason"] = forms.CharField(  # type: ignore[attr-defined]
                label=f"Adjustment {n} reason",
                max_length=5,
                required=False,
                widget=_small(forms.TextInput(attrs={"placeholder": "Reason"})),
            )
            amount = _money(f"Adjustment {n} amount", required=False)
            amount.widget.attrs["placeholder"] = "Amount"
            self.fields[f"adj{n}_amount"] = amount  # type: ignore[attr-defined]

    def adjustment_slots(self) -> list[AdjustmentSlot]:
        return [
            AdjustmentSlot(n, self[f"adj{n}_group"], self[f"adj{n}_reason"], self[f"adj{n}_amount"])  # type: ignore[index]
            for n in range(1, self.slots + 1)
        ]

    def clean_adjustments(self, data: dict) -> list[tuple[str, str, Decimal]]:
        triplets = []
        for n in range(1, self.slots + 1):
            group = data.get(f"adj{n}_group") or ""
            reason = (data.get(f"adj{n}_reason") or "").strip().upper()
            amount = data.get(f"adj{n}_amount")
            if not group and not reason and amount is None:
                continue
            if not (group and reason and amount is not None):
                self.add_error(  # type: ignore[attr-defined]
                    f"adj{n}_reason", "Give the group, the reason code and the amount."
                )
                continue
            if not _REASON_CODE.match(reason):
                self.add_error(  # type: ignore[attr-defined]
                    f"adj{n}_reason",
                    f"Adjustment {n}: {reason!r} is not a reason code (CARC), e.g. 45 or A2.",
                )
                continue
            triplets.append((group, reason, amount))
        return triplets


class EobHeaderForm(forms.Form):
    payer = forms.ModelChoiceField(
        queryset=Payer.objects.none(), to_field_name="reference", empty_label="Choose the payer"
    )
    payment_date = forms.DateField(label="Payment date", widget=DATE_INPUT, help_text="Check or EFT date.")
    trace_number = forms.CharField(
        label="Check or EFT trace number", max_length=50, help_text="As printed on the check or the EOB."
    )
    method = forms.ChoiceField(choices=METHOD_CHOICES)
    total_paid = MoneyFormField(label="Total paid", help_text="The check or EFT amount.")

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = Payer.objects.in_organization(organization).filter(is_active=True)


class EobClaimForm(AdjustmentsMixin, forms.Form):
    slots = CLAIM_ADJUSTMENT_SLOTS

    patient_control_number = forms.CharField(
        label="Patient control number", max_length=38, widget=_small(forms.TextInput())
    )
    status_code = forms.ChoiceField(
        label="Claim status",
        choices=STATUS_CODE_CHOICES,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    charge = _money("Charge")
    paid = _money("Paid")
    patient_responsibility = _money("Patient responsibility", required=False)
    payer_claim_number = forms.CharField(
        label="Payer claim number", max_length=50, required=False, widget=_small(forms.TextInput())
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_adjustment_fields()

    def is_blank(self) -> bool:
        # The status list always has a value; a block is blank when nothing was typed.
        return not any(
            str(self.data.get(self.add_prefix(name), "")).strip()
            for name in self.fields
            if name != "status_code"
        )

    def clean(self) -> dict:
        data = super().clean()
        data["patient_control_number"] = (data.get("patient_control_number") or "").strip()
        data["adjustments"] = self.clean_adjustments(data)
        return data


class EobLineForm(AdjustmentsMixin, forms.Form):
    slots = LINE_ADJUSTMENT_SLOTS

    code = forms.CharField(label="Procedure code", max_length=48, widget=_small(forms.TextInput()))
    modifiers = forms.CharField(
        label="Modifiers",
        max_length=16,
        required=False,
        widget=_small(forms.TextInput(attrs={"placeholder": "e.g. 25 59"})),
    )
    service_date = forms.DateField(label="Service date", widget=_small(DATE_INPUT))
    charge = _money("Charge")
    allowed = _money("Allowed", required=False)
    paid = _money("Paid")
    units = forms.CharField(label="Units", max_length=12, required=False, widget=_small(forms.TextInput()))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_adjustment_fields()
        self.empty_permitted = True
        self.use_required_attribute = False

    def has_changed(self) -> bool:
        # A line left blank is not a line: the block offers more rows than most EOBs need.
        return any(str(self.data.get(self.add_prefix(name), "")).strip() for name in self.fields)

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper()

    def clean_modifiers(self) -> list[str]:
        modifiers = [m for m in re.split(r"[\s,:]+", self.cleaned_data["modifiers"].strip().upper()) if m]
        if len(modifiers) > 4:
            raise forms.ValidationError("At most four modifiers.")
        bad = [m for m in modifiers if not _MODIFIER.match(m)]
        if bad:
            raise forms.ValidationError(f"{', '.join(bad)}: a modifier is two letters or digits.")
        return modifiers

    def clean_units(self) -> Decimal | None:
        raw = self.cleaned_data["units"].strip()
        if not raw:
            return None
        try:
            units = Decimal(raw)
        except InvalidOperation:
            raise forms.ValidationError(f"{raw!r} is not a number of units.") from None
        if not units.is_finite() or units.as_tuple().exponent < -3:  # type: ignore[operator]
            raise forms.ValidationError(f"{raw!r} is not a number of units (at most three decimals).")
        return units

    def clean(self) -> dict:
        data = super().clean()
        data["adjustments"] = self.clean_adjustments(data)
        return data


@dataclass
class ClaimBlock:
    number: int
    form: EobClaimForm
    lines: list[EobLineForm]


def _count(data: Any, key: str, default: int, limit: int) -> int:
    raw = str(data.get(key, "")) if data is not None else ""
    value = int(raw) if raw.isdigit() else default
    return max(1, min(value, limit))


class EobEntry:
    """A paper EOB as typed: a header, then claim blocks, each with its service lines.

    Field names carry the block and line (``claim-2-line-3-paid``), so the page needs no
    script: "Add a claim" and "Add a line" post the form back and it returns with one
    more block or row and everything typed so far kept (as initial values, without
    errors). Blank lines, and blank claim blocks after the first, are ignored.
    """

    DEFAULT_LINES = 3

    def __init__(self, data: Any = None, *, organization: Any, bound: bool = True) -> None:
        self.data = data
        self.bound = bound and data is not None
        self.claim_count = _count(data, "claim_count", 1, MAX_CLAIMS)
        self.header = self._form(EobHeaderForm, "eob", organization=organization)
        self.blocks: list[ClaimBlock] = []
        for i in range(1, self.claim_count + 1):
            line_count = _count(data, f"claim-{i}-line_count", self.DEFAULT_LINES, MAX_LINES)
            lines = [self._form(EobLineForm, f"claim-{i}-line-{j}") for j in range(1, line_count + 1)]
            for j, line in enumerate(lines, start=1):
                line.where = f"Claim {i}, line {j}"
            claim = self._form(EobClaimForm, f"claim-{i}")
            claim.where = f"Claim {i}"
            self.blocks.append(ClaimBlock(i, claim, lines))

    def _form(self, form_class: type[forms.Form], prefix: str, **kwargs: Any) -> Any:
        if self.bound:
            return form_class(self.data, prefix=prefix, **kwargs)
        form = form_class(prefix=prefix, **kwargs)
        if self.data is not None:
            # Redisplay what was typed, without validating it yet.
            form.initial = {
                name: self.data.get(form.add_prefix(name))
                for name in form.fields
                if self.data.get(form.add_prefix(name)) not in (None, "")
            }
        return form

    @classmethod
    def grown(cls, data: Any, *, organization: Any, action: str) -> EobEntry:
        """The same entry with one more claim block (``add_claim``) or one more line (``add_line:N``)."""
        data = data.copy()
        count = _count(data, "claim_count", 1, MAX_CLAIMS)
        if action == "add_claim" and count < MAX_CLAIMS:
            data["claim_count"] = str(count + 1)
        elif action.startswith("add_line:"):
            number = action.partition(":")[2]
            if number.isdigit() and 1 <= int(number) <= count:
                key = f"claim-{number}-line_count"
                data[key] = str(min(_count(data, key, cls.DEFAULT_LINES, MAX_LINES) + 1, MAX_LINES))
        return cls(data, organization=organization, bound=False)

    def _entered_blocks(self) -> list[ClaimBlock]:
        # A block counts once anything is typed in it, its lines included.
        return [
            b
            for b in self.blocks
            if b.number == 1 or not b.form.is_blank() or any(line.has_changed() for line in b.lines)
        ]

    def is_valid(self) -> bool:
        valid = self.header.is_valid()
        for block in self._entered_blocks():
            valid = block.form.is_valid() and valid
            for line in block.lines:
                valid = line.is_valid() and valid
        return valid

    def errors(self) -> list[str]:
        """Every error, naming the claim, the line and the field: ``Claim 2, line 1, Paid: …``."""
        messages = [*_labelled(self.header, "")]
        for block in self._entered_blocks():
            messages.extend(_labelled(block.form, block.form.where))
            for line in block.lines:
                messages.extend(_labelled(line, line.where))
        return messages

    def manual_eob(self) -> ManualEob:
        """The entry as the posting service takes it (call after ``is_valid``)."""

        def adjustments(data: dict) -> list[ManualAdjustment]:
            return [ManualAdjustment(group=g, reason=r, amount=a) for g, r, a in data["adjustments"]]

        claims = []
        for block in self._entered_blocks():
            c = block.form.cleaned_data
            lines = [
                ManualLine(
                    code=d["code"],
                    modifiers=d["modifiers"],
                    service_date=d["service_date"],
                    charge=d["charge"],
                    allowed=d["allowed"],
                    paid=d["paid"],
                    units=d["units"],
                    adjustments=adjustments(d),
                )
                for d in (line.cleaned_data for line in block.lines if line.has_changed())
            ]
            claims.append(
                ManualClaim(
                    patient_control_number=c["patient_control_number"],
                    status_code=c["status_code"],
                    charge=c["charge"],
                    paid=c["paid"],
                    patient_responsibility=c["patient_responsibility"] or ZERO,
                    payer_claim_number=c["payer_claim_number"].strip(),
                    lines=lines,
                    adjustments=adjustments(c),
                )
            )
        h = self.header.cleaned_data
        return ManualEob(
            payment_date=h["payment_date"],
            trace_number=h["trace_number"],
            method=h["method"],
            total_paid=h["total_paid"],
            claims=claims,
        )

    @property
    def payer(self) -> Payer:
        return self.header.cleaned_data["payer"]


def _labelled(form: forms.Form, where: str) -> list[str]:
    if not form.is_bound or not form.errors:
        return []
    out = []
    for name, errors in form.errors.items():
        label = form[name].label if name in form.fields else ""
        place = ", ".join(p for p in (where, label) if p)
        out.extend(f"{place}: {error}" if place else str(error) for error in errors)
    return out
