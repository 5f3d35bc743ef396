"""Reads over patients, accounts, coverages and the ledger; every list starts at ``visible_to``."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import models
from django.db.models import F, Q, Sum, Window
from django.db.models.functions import Coalesce
from django.utils import timezone

from staff.querysets import OrganizationScopedQuerySet

_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y", "%m/%d/%y")
# Below this word similarity a name is not offered. The database applies the same value to
# the indexed ``%>`` operator (``pg_trgm.word_similarity_threshold`` in config/settings.py).
NAME_SIMILARITY = 0.45


def parse_search_date(term: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(term, fmt).date()  # noqa: DTZ007 (a calendar date, no time)
        except ValueError:
            continue
    return None


def phone_digits(raw: str) -> str:
    """Digits of a US phone number without the country code: ``(312) 555-0100`` → ``3125550100``."""
    digits = re.sub(r"\D", "", raw or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


def normalize_name(term: str) -> str:
    """``Smith, John`` and ``John Smith`` both become words of ``SMITH JOHN``'s trigram set."""
    if "," in term:
        last, _, first = term.partition(",")
        term = f"{last.strip()} {first.strip()}"
    return re.sub(r"\s+", " ", term).strip().upper()


class PatientQuerySet(OrganizationScopedQuerySet):
    def search(self, term: str) -> models.QuerySet:
        """Patients matching a free-text term: a date of birth, a phone number, an account
        number, a member id or a (misspelt) name. The kind of term decides the index used."""
        term = (term or "").strip()
        if not term:
            return self.none()
        day = parse_search_date(term)
        if day is not None:
            return self.filter(date_of_birth=day)
        digits = phone_digits(term)
        by_identifier = Q(pk__in=self._ids_by_identifier(term))
        if len(digits) == 10 and not re.search(r"[A-Za-z]", term):
            return self.filter(Q(phone=digits) | Q(mobile_phone=digits) | by_identifier)
        if re.search(r"\d", term):
            return self.filter(Q(mrn__iexact=term) | by_identifier)
        name = normalize_name(term)
        return (
            self.filter(search_name__trigram_word_similar=name)
            .annotate(similarity=TrigramWordSimilarity(name, "search_name"))
            .filter(similarity__gte=NAME_SIMILARITY)
            .order_by("-similarity", "last_name", "first_name", "id")
        )

    def _ids_by_identifier(self, term: str) -> list[int]:
        """Patients whose account number or member id is ``term`` (any case).

        Two small indexed lookups (on UPPER(...)) whose ids the caller filters within its
        organizations: an OR across joins would make PostgreSQL scan every patient.
        """
        from accounts.models import Coverage, PatientAccount

        accounts = PatientAccount.objects.filter(account_number__iexact=term).values_list(
            "patient_id", flat=True
        )
        coverages = Coverage.objects.filter(member_id__iexact=term).values_list("patient_id", flat=True)
        return list({*accounts[:200], *coverages[:200]})


class AccountQuerySet(OrganizationScopedQuerySet):
    def with_credit_balance(self) -> models.QuerySet:
        return self.filter(credit_identified_on__isnull=False)

    def open(self) -> models.QuerySet:
        return self.exclude(status="closed")


class CoverageQuerySet(OrganizationScopedQuerySet):
    def active_on(self, day: date | None = None) -> models.QuerySet:
        day = day or timezone.localdate()
        return self.filter(is_active=True, effective_from__lte=day).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gte=day)
        )

    def in_order(self) -> models.QuerySet:
        return self.order_by("priority", "-effective_from", "id")


class AuthorizedContactQuerySet(OrganizationScopedQuerySet):
    def current(self, day: date | None = None) -> models.QuerySet:
        day = day or timezone.localdate()
        return self.filter(start_date__lte=day).filter(Q(end_date__isnull=True) | Q(end_date__gte=day))


class LedgerEntryQuerySet(OrganizationScopedQuerySet):
    def with_running_balance(self) -> models.QuerySet:
        """Each entry with the account balance after it, in posting order (a window sum)."""
        return self.annotate(
            running_balance=Window(Sum("amount"), partition_by=[F("account_id")], order_by=[F("id").asc()])
        )

    def total(self) -> Decimal:
        return self.aggregate(total=Coalesce(Sum("amount"), Decimal("0.00")))["total"]

    def bucket_totals(self) -> dict[Any, Decimal]:
        """Sum per responsible bucket: ``{coverage_id or None: amount}``."""
        rows = self.values("coverage_id").annotate(total=Sum("amount")).order_by()
        return {row["coverage_id"]: row["total"] for row in rows}
