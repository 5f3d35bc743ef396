"""A worker killed (SIGKILL) in the middle of posting a file, then the same file imported again:
every account ends exactly as one clean run leaves it, and nothing is posted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from accounts.models import LedgerEntry
from claims.models import ClaimPayment, RemittanceFile
from claims.services.remittances import remittance_import
from tests.claims.posting_helpers import billed_claim, edi, make_payer

ROOT = Path(__file__).resolve().parents[2]

# The child imports the file with one claim per chunk and stalls inside the second chunk's
# transaction, after the first chunk has committed: the moment the parent kills it.
CHILD = """
import sys, time
import django
django.setup()
from claims.posting import engine
from claims.services.remittances import remittance_import
from staff.models import Organization, User

real = engine._post_chunk
calls = {"n": 0}

def stalls_on_the_second_chunk(*args, **kwargs):
    calls["n"] += 1
    result = real(*args, **kwargs)
    if calls["n"] == 2:
        print("stalled", flush=True)
        time.sleep(600)
    return result

engine._post_chunk = stalls_on_the_second_chunk
engine.post_file.__kwdefaults__["chunk_size"] = 1
org = Organization.objects.get(pk=int(sys.argv[1]))
by = User.objects.get(pk=int(sys.argv[2]))
remittance_import(organization=org, data=open(sys.argv[3], "rb").read(), filename="era.835",
                  channel="command", by=by)
"""


def _database_url() -> str:
    settings = connection.settings_dict
    host = settings["HOST"] or "localhost"
    host = quote(host, safe="") if host.startswith("/") else host
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{quote(settings['USER'] or '', safe='')}{password}@{host}{port}/{settings['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_posting_then_rerun_equals_one_clean_run(org, posting_specialist, tmp_path):
    payer = make_payer(org)
    claims = [
        billed_claim(org, payer, f"PCN-K{n}", [("99213", date(2026, 3, n + 1), 100)], posting_specialist)
        for n in range(3)
    ]
    data = edi(
        *[
            s
            for n in range(3)
            for s in (f"CLP*PCN-K{n}*1*100*60*20*12*ICN-K{n}", "CAS*CO*45*20", "CAS*PR*2*20")
        ],
        total="180",
    )
    path = tmp_path / "era.835"
    path.write_bytes(data)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "PYTHONPATH": str(ROOT),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(org.pk), str(posting_specialist.pk), str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.strip() == "stalled", child.stderr.read()
        # The child holds the second chunk's transaction open: one claim is posted, one is
        # written but not committed.
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    deadline = time.monotonic() + 10
    while ClaimPayment.objects.filter(posting="posted").count() != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ClaimPayment.objects.filter(posting="posted").count() == 1
    assert RemittanceFile.objects.get().status != RemittanceFile.Status.POSTED

    again = remittance_import(
        organization=org, data=data, filename="era.835", channel="upload", by=posting_specialist
    )

    assert again.duplicate and again.summary["posted"] == 3
    assert RemittanceFile.objects.get().status == RemittanceFile.Status.POSTED
    for claim in claims:
        account = claim.account
        account.refresh_from_db()
        assert account.balance == Decimal("20.00")
        assert account.patient_balance == Decimal("20.00")
        entries = LedgerEntry.objects.filter(account=account, source="835")
        assert entries.filter(kind="insurance_payment").count() == 1
        assert entries.count() == 4  # payment, contractual, and the two halves of the transfer
        claim.refresh_from_db()
        assert claim.paid_amount == Decimal("60.00") and claim.status == "paid"
