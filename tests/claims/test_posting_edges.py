"""Every public sample through the whole import path; concurrency; fuzzed input; the
command and the drop folder."""

from __future__ import annotations

import json
import threading
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import LedgerEntry
from claims.models import ClaimPayment, PostingException, RemittanceFile, RemittancePayment
from claims.services.remittances import remittance_import
from claims.tasks import drop_folder_scan
from core.errors import InvalidInput
from tests.claims.posting_helpers import SAMPLES, billed_claim, edi, make_payer

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"sample folder {SAMPLES} is missing")

# (file, payments, claims, transaction exceptions expected) from SOURCES.md
EXPECTED = {
    "medicare-part-a.835": (1, 2, 0),
    "secondary-payment.835": (1, 2, 0),
    "managed-care.835": (1, 2, 0),
    "Example1.txt": (1, 10, 1),
    "ExampleFromNth.txt": (3, 56, None),
    "835id.txt": (1, 3, 1),
    "emedny_sample.txt": (1, 3, 0),
    "united_healthcare_legacy_sample.txt": (1, 2, 0),
    "835-example.txt": (1, 2, 1),
    "example_1.835": (1, 1, 1),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_sample_imports_with_its_counts(org, posting_specialist, name):
    payments, claims, unbalanced = EXPECTED[name]
    outcome = remittance_import(
        organization=org,
        data=(SAMPLES / name).read_bytes(),
        filename=name,
        channel="upload",
        by=posting_specialist,
    )
    assert outcome.summary["payments"] == payments
    assert outcome.summary["claims"] == claims
    exceptions = PostingException.objects.filter(payment__file=outcome.file)
    if unbalanced is not None:
        assert exceptions.filter(kind="transaction_unbalanced").count() == unbalanced
    # No claims exist in this organization: nothing can post, everything waits for a person.
    assert not LedgerEntry.objects.filter(source="835").exists()
    assert not ClaimPayment.objects.filter(payment__file=outcome.file, posting="pending").exists()


@pytest.mark.django_db
def test_the_truncated_claim_of_example1_is_reported_not_posted(org, posting_specialist):
    outcome = remittance_import(
        organization=org,
        data=(SAMPLES / "Example1.txt").read_bytes(),
        filename="Example1.txt",
        channel="upload",
        by=posting_specialist,
    )
    assert any(d["code"] == "truncated_claim" for d in outcome.diagnostics)
    incomplete = PostingException.objects.get(payment__file=outcome.file, kind="incomplete")
    assert incomplete.claim_payment.patient_control_number == "090909"


@pytest.mark.django_db(transaction=True)
def test_the_same_file_imported_twice_at_once_posts_once(org, posting_specialist):
    payer = make_payer(org)
    claim = billed_claim(org, payer, "PCN-C1", [("99213", date(2026, 3, 1), 100)], posting_specialist)
    data = edi("CLP*PCN-C1*1*100*80*0*12*ICN-C1", "CAS*CO*45*20", total="80")
    results, errors = [], []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            results.append(
                remittance_import(
                    organization=org, data=data, filename="a.835", channel="api", by=posting_specialist
                )
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(r.duplicate for r in results) == [False, True]
    assert RemittanceFile.objects.count() == 1
    assert (
        LedgerEntry.objects.filter(account=claim.account, source="835", kind="insurance_payment").count() == 1
    )
    claim.account.refresh_from_db()
    assert claim.account.balance == Decimal("0.00")


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=2000), junk=st.binary(max_size=20), at=st.integers(0, 2000))
def test_mangled_files_are_refused_or_stored_whole(org, posting_specialist, cut, junk, at):
    data = (SAMPLES / "managed-care.835").read_bytes()
    mangled = data[:at] + junk + data[at:cut] if cut > at else data[:cut] + junk
    before = (RemittanceFile.objects.count(), LedgerEntry.objects.count())
    try:
        outcome = remittance_import(
            organization=org, data=mangled, filename="m.835", channel="upload", by=posting_specialist
        )
    except InvalidInput:
        assert (RemittanceFile.objects.count(), LedgerEntry.objects.count()) == before
        return
    # Stored: then every claim payment reached an end state and no payment is half posted.
    assert not ClaimPayment.objects.filter(payment__file=outcome.file, posting="pending").exists()
    assert not RemittancePayment.objects.filter(file=outcome.file, status="pending").exists()


@pytest.mark.django_db
def test_import_835_command_prints_a_summary_and_fails_clearly(org, tmp_path):
    out = StringIO()
    call_command(
        "import_835", str(SAMPLES / "managed-care.835"), "--organization", org.slug, "--json", stdout=out
    )
    summary = json.loads(out.getvalue())
    assert summary["claims"] == 2 and summary["duplicate"] is False and summary["total_paid"] == "945.00"
    out = StringIO()
    call_command("import_835", str(SAMPLES / "managed-care.835"), "--organization", org.slug, stdout=out)
    assert "already imported" in out.getvalue() and "Duplicate:   yes" in out.getvalue()
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_835", str(tmp_path / "missing.835"), "--organization", org.slug)
    with pytest.raises(CommandError, match="not an X12 835"):
        call_command("import_835", str(SAMPLES / "demo.example1.837"), "--organization", org.slug)
    with pytest.raises(CommandError, match="slug"):
        call_command("import_835", str(SAMPLES / "managed-care.835"), "--organization", "nope")


@pytest.mark.django_db
def test_the_drop_folder_imports_and_files_away(org, tmp_path):
    inbox = tmp_path / org.slug
    inbox.mkdir()
    (inbox / "good.835").write_bytes((SAMPLES / "managed-care.835").read_bytes())
    (inbox / "bad.835").write_bytes(b"not an edi file")
    counts = drop_folder_scan(tmp_path)
    assert counts == {"imported": 1, "duplicates": 0, "failed": 1}
    assert (inbox / "processed" / "good.835").exists()
    assert "not an X12 835" in (inbox / "failed" / "bad.835.error.txt").read_text()
    assert RemittanceFile.objects.get().channel == "drop_folder"


@pytest.mark.django_db(transaction=True)
def test_two_files_paying_one_claim_at_once_both_count(org, posting_specialist):
    payer = make_payer(org)
    claim = billed_claim(org, payer, "PCN-C2", [("99213", date(2026, 3, 1), 100)], posting_specialist)
    files = [
        edi("CLP*PCN-C2*1*100*30*0*12*ICN-C2", "CAS*CO*45*70", total="30", trace="T-A"),
        edi("CLP*PCN-C2*1*100*20*0*12*ICN-C2", "CAS*CO*45*80", total="20", trace="T-B"),
    ]
    errors = []
    barrier = threading.Barrier(2)

    def run(data):
        try:
            barrier.wait()
            remittance_import(
                organization=org, data=data, filename="x.835", channel="api", by=posting_specialist
            )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(data,)) for data in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    claim.refresh_from_db()
    assert claim.paid_amount == Decimal("50.00")
