"""Accounts benchmark: the account page and patient search in an organization of a million accounts.

Builds (or reuses) the scale organization with ``manage.py seed_scale``, gives one account
a very large ledger (COPY, ``seed_scale.grow_ledger``), makes the measured representative
a member, and times through the whole middleware stack:

- ``accounts:account_detail`` for a different random account on every request, and for
  the huge-ledger account, recording the query counts of both (they must be equal: the
  page reads a fixed number of queries whatever the ledger's size);
- ``accounts:patient_search`` with a mix of what representatives type: misspelt last
  names (alone or as ``Last, First``), dates of birth, account numbers, member ids and
  phone numbers, each kind also reported on its own.

With ``--explain``, the slowest queries of the slowest request of each measurement are
run again under ``EXPLAIN (ANALYZE, BUFFERS)`` and printed.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

SLUG = "scale"
TARGETS_MS = {"account": 150, "search": 100}


def build(accounts: int, huge_ledger: int) -> dict[str, Any]:
    """Load the scale organization (a no-op when it is there) and the huge-ledger account."""
    from django.core.management import call_command
    from django.db import connection

    from accounts.management.commands.seed_scale import grow_ledger
    from accounts.models import PatientAccount

    timings: dict[str, Any] = {}
    started = time.perf_counter()
    call_command("seed_scale", accounts=accounts, organization=SLUG)
    timings["seed_scale_s"] = round(time.perf_counter() - started, 1)
    huge = huge_account()
    present = huge.ledger_entries.count()
    if present < huge_ledger:
        started = time.perf_counter()
        added = grow_ledger(PatientAccount.objects.get(pk=huge.pk), huge_ledger - present)
        timings["huge_ledger_s"] = round(time.perf_counter() - started, 1)
        print(
            f"added {added} ledger entries to account {huge.account_number} in {timings['huge_ledger_s']} s"
        )
    if timings["seed_scale_s"] > 60 or "huge_ledger_s" in timings:
        # Freshly loaded pages: set hint bits and the visibility map once, as autovacuum would.
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for table in ("patient", "guarantor", "coverage", "patientaccount", "charge", "ledgerentry"):
                cursor.execute(f"VACUUM (ANALYZE) accounts_{table}")
            cursor.execute("VACUUM (ANALYZE) accounts_accountbucket")
        timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
        print(f"vacuum analyze: {timings['vacuum_analyze_s']} s")
    return timings


def huge_account() -> Any:
    from accounts.models import PatientAccount

    return PatientAccount.objects.filter(organization__slug=SLUG).order_by("id").first()


def data_sizes() -> dict[str, Any]:
    from django.db import connection

    from accounts.models import Patient, PatientAccount

    org = Patient.objects.filter(organization__slug=SLUG).values_list("organization_id", flat=True).first()
    sizes: dict[str, Any] = {
        "patients": Patient.objects.filter(organization_id=org).count(),
        "accounts": PatientAccount.objects.filter(organization_id=org).count(),
    }
    with connection.cursor() as cursor:
        for table in ("coverage", "charge", "ledgerentry", "accountbucket"):
            cursor.execute(f"SELECT count(*) FROM accounts_{table} WHERE {_org_filter(table)}", [org])
            sizes[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "WHERE c.relkind = 'r' AND c.relname LIKE 'accounts\\_%%'"
        )
        sizes["accounts_tables_gb"] = round(cursor.fetchone()[0] / 1024**3, 2)
        cursor.execute("SELECT pg_database_size(current_database()), version()")
        size, version = cursor.fetchone()
        sizes["database_gb"] = round(size / 1024**3, 2)
        sizes["postgresql"] = version.split(" on ")[0]
    huge = huge_account()
    sizes["huge_ledger_entries"] = huge.ledger_entries.count()
    return sizes


def _org_filter(table: str) -> str:
    if table in ("ledgerentry", "coverage", "charge"):
        return "organization_id = %s"
    return "account_id IN (SELECT id FROM accounts_patientaccount WHERE organization_id = %s)"


def grant(user: Any) -> Any:
    """Make ``user`` a representative in the scale organization; returns the organization."""
    from staff.models import Membership, Organization, Role

    organization = Organization.objects.get(slug=SLUG)
    Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": Role.REPRESENTATIVE}
    )
    return organization


def _random_rows(rng: random.Random, sql: str, table: str, count: int, org: int) -> list[tuple]:
    """``count`` random rows of the organization: random ids between its lowest and highest."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id) FROM {table} WHERE organization_id = %s", [org])
        low, high = cursor.fetchone()
        ids = rng.sample(range(low, high + 1), min(count * 2, high - low + 1))
        cursor.execute(sql, [org, ids])
        rows = cursor.fetchall()
    rng.shuffle(rows)
    return rows[:count]


def account_paths(organization: Any, count: int, rng: random.Random) -> list[str]:
    from django.urls import reverse

    rows = _random_rows(
        rng,
        "SELECT reference FROM accounts_patientaccount WHERE organization_id = %s AND id = ANY(%s)",
        "accounts_patientaccount",
        count,
        organization.pk,
    )
    return [reverse("accounts:account_detail", kwargs={"reference": ref}) for (ref,) in rows]


def _typo(rng: random.Random, word: str) -> str:
    """One slip of the fingers: two letters swapped, one dropped, doubled or replaced."""
    if len(word) < 4:
        return word.lower()
    at = rng.randrange(1, len(word) - 1)
    slip = rng.choice(("swap", "drop", "double", "replace"))
    if slip == "swap":
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    elif slip == "drop":
        word = word[:at] + word[at + 1 :]
    elif slip == "double":
        word = word[:at] + word[at] + word[at:]
    else:
        word = word[:at] + rng.choice("aeiourstnl") + word[at + 1 :]
    return word.lower() if rng.random() < 0.5 else word


def search_terms(organization: Any, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, term) pairs, the five kinds in equal shares, from real rows of the organization."""
    rows = _random_rows(
        rng,
        """
        SELECT p.last_name, p.first_name, p.date_of_birth, p.phone,
               (SELECT a.account_number FROM accounts_patientaccount a WHERE a.patient_id = p.id LIMIT 1),
               (SELECT c.member_id FROM accounts_coverage c WHERE c.patient_id = p.id LIMIT 1)
        FROM accounts_patient p WHERE p.organization_id = %s AND p.id = ANY(%s)
        """,
        "accounts_patient",
        count * 2,
        organization.pk,
    )
    terms: list[tuple[str, str]] = []
    kinds = ["name", "dob", "account", "member", "phone"]
    for index, (last, first, born, phone, account, member) in enumerate(rows):
        kind = kinds[index % len(kinds)]
        if kind == "name":
            typo = _typo(rng, last)
            terms.append((kind, f"{typo}, {first}" if rng.random() < 0.5 else typo))
        elif kind == "dob":
            terms.append((kind, born.strftime("%m/%d/%Y")))
        elif kind == "account" and account:
            terms.append((kind, account))
        elif kind == "member" and member:
            terms.append((kind, member))
        elif kind == "phone":
            terms.append((kind, f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"))
        if len(terms) == count:
            break
    return terms


def measure_paths(
    client: Any,
    paths: list[str],
    *,
    ok: tuple[int, ...] = (200,),
    warmup: list[str] | None = None,
    budget_s: float = 180.0,
) -> dict[str, Any]:
    """Server time of each request in ``paths`` (in order), after a few warm-up requests.

    A measurement that runs past ``budget_s`` stops there (a page that takes seconds per
    request would otherwise hold the whole run for an hour) and says how many it made.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for path in warmup or paths[:10]:
        client.get(path)
    timings, queries, slowest = [], set(), (0.0, "", [])
    started = time.perf_counter()
    for path in paths:
        if time.perf_counter() - started > budget_s:
            break
        # The query log is a bounded deque: once full, CaptureQueriesContext counts nothing.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code not in ok:
            raise SystemExit(f"{path} answered {response.status_code}")
        timings.append(elapsed)
        queries.add(len(ctx.captured_queries))
        if elapsed > slowest[0]:
            slowest = (elapsed, path, list(ctx.captured_queries))
    ordered = sorted(timings)
    return {
        "requests": len(timings),
        **({"stopped_early": f"time budget of {budget_s:.0f} s"} if len(timings) < len(paths) else {}),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
        "max_ms": round(ordered[-1], 2),
        "queries": sorted(queries),
        "_slowest": slowest,
    }


def explain(slowest: tuple[float, str, list[dict]], top: int = 3) -> list[dict[str, Any]]:
    """EXPLAIN ANALYZE of the slowest reads of one request (parameters are already inlined)."""
    from django.db import connection

    _elapsed, _path, captured = slowest
    selects = [q for q in captured if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))]
    selects.sort(key=lambda q: float(q["time"]), reverse=True)
    plans = []
    with connection.cursor() as cursor:
        for query in selects[:top]:
            try:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            except Exception as exc:  # a query whose logged form does not parse again
                plans.append({"sql": query["sql"], "time_s": query["time"], "plan": f"not explained: {exc}"})
                continue
            plan = "\n".join(row[0] for row in cursor.fetchall())
            plans.append({"sql": query["sql"], "time_s": query["time"], "plan": plan})
    return plans


def run(
    client_for: Callable[[Any], Any],
    user: Any,
    *,
    requests: int,
    explain_slowest: bool,
    budget_s: float = 180.0,
    seed: int = 7,
) -> list[dict[str, Any]]:
    """Measure the account page and patient search as ``user`` (a representative of the scale org)."""
    from django.urls import reverse

    organization = grant(user)
    client = client_for(organization)
    rng = random.Random(seed)
    results = []

    def record(label: str, target: str, result: dict[str, Any], **extra: Any) -> None:
        slowest = result.pop("_slowest")
        if explain_slowest:
            result["explain"] = explain(slowest)
            print(f"\n--- slowest request of {label}: {slowest[1]} ({slowest[0]:.1f} ms)")
            for plan in result["explain"]:
                print(f"[{plan['time_s']} s] {plan['sql'][:600]}\n{plan['plan']}\n")
        results.append(
            {
                "path": label,
                "as": "representative",
                "scenario": "accounts",
                "target_p95_ms": target,
                **result,
                **extra,
            }
        )
        stopped = f"  stopped early: {result['stopped_early']}" if "stopped_early" in result else ""
        print(
            f"{label:<45} p50 {result['p50_ms']:>8} ms  p95 {result['p95_ms']:>8} ms  "
            f"max {result['max_ms']:>8} ms  {result['requests']} requests  queries {result['queries']}"
            f"{stopped}",
            flush=True,
        )

    paths = account_paths(organization, requests + 10, rng)
    record(
        "/accounts/<random account>/",
        TARGETS_MS["account"],
        measure_paths(client, paths[10:], warmup=paths[:10], budget_s=budget_s),
    )
    huge = huge_account()
    huge_path = reverse("accounts:account_detail", kwargs={"reference": huge.reference})
    record(
        f"/accounts/<{huge.ledger_entries.count()}-entry ledger>/",
        TARGETS_MS["account"],
        measure_paths(client, [huge_path] * requests, budget_s=budget_s),
    )

    search = reverse("accounts:patient_search")
    terms = search_terms(organization, requests + 10 + 5 * 60, rng)
    mixed = terms[: requests + 10]

    def url(term: str) -> str:
        return f"{search}?{urlencode({'q': term})}"

    # An exact account number answers with a redirect to the account: that is the search's response.
    record(
        "/patients/?q=<mix of 5 kinds>",
        TARGETS_MS["search"],
        measure_paths(
            client,
            [url(t) for _k, t in mixed[10:]],
            ok=(200, 302),
            warmup=[url(t) for _k, t in mixed[:10]],
            budget_s=budget_s,
        ),
    )
    rest = terms[requests + 10 :]
    for kind in ("name", "dob", "account", "member", "phone"):
        of_kind = [url(t) for k, t in rest if k == kind][:60]
        if of_kind:
            record(
                f"/patients/?q=<{kind}>",
                TARGETS_MS["search"],
                measure_paths(client, of_kind, ok=(200, 302), budget_s=budget_s),
            )
    return results
