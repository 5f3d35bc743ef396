"""Worklists benchmark: a full rules refresh, get next and the My work page at a million accounts.

Data: the scale organization of the accounts benchmark (``manage.py seed_scale``: a million
patients and accounts; reused when present, built otherwise) and the work the registered
rules find in it. Coverage to verify before a statement and credit balances find about
230,000 items there (claims, cases and notices find none: the scale data has none of
them). Forty representatives work the coverage-verification queue (ten of them with the
``lang:es`` skill, which about a tenth of the items need) and half of them the
credit-balance queue too.

Measured, through the whole middleware stack (Django test client, server time):

- the full rules refresh over every active organization: once from no items at all
  (``--keep-items`` skips that), then again on unchanged data (the steady state of the
  scheduled refresh);
- get next: ``POST worklists:take_next`` by the representatives in turn, each taking a
  real item (the service alone is reported beside it);
- My work: ``GET worklists:my_work`` as a representative with items in progress.

Items taken are given back to their queues afterwards (a bench-only UPDATE), so runs
compare. Results are printed and written to ``bench/results/worklists.json``.

    python -m tools.with_db python bench/scenario_worklists.py
    python -m tools.with_db python bench/scenario_worklists.py --database pfs_workbench --requests 500

``run()`` is the entry point for ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

SLUG = "scale"
TARGETS = {"get_next_p95_ms": 50, "my_work_p95_ms": 100, "refresh_s": 60}
REPS = 40
SPANISH_SPEAKERS = 10


def _people(organization: Any) -> tuple[list[Any], Any]:
    """Forty representatives and a supervisor of the scale organization (created once)."""
    from django.contrib.auth.hashers import make_password

    from staff.models import Membership, Role, User

    password = make_password("bench-password-1")
    people = []
    for index in range(REPS + 1):
        email = f"worklists{index:03d}@bench.test"
        user, _ = User.objects.get_or_create(
            email=email, defaults={"full_name": f"Worklist Person {index}", "password": password}
        )
        role = Role.SUPERVISOR if index == REPS else Role.REPRESENTATIVE
        Membership.objects.get_or_create(user=user, organization=organization, defaults={"role": role})
        people.append(user)
    return people[:REPS], people[REPS]


def _join_queues(organization: Any, reps: list[Any], supervisor: Any) -> None:
    """Everyone works coverage verification (ten with Spanish); half also work credit balances."""
    from worklists.models import Queue, QueueMember

    queues = {q.slug: q for q in Queue.objects.filter(organization=organization)}
    wanted = []
    for index, rep in enumerate(reps):
        skills = ["lang:es"] if index < SPANISH_SPEAKERS else []
        wanted.append((queues["coverage-verification"], rep, skills))
        if index % 2 == 0:
            wanted.append((queues["credit-balances"], rep, []))
    wanted += [(queue, supervisor, ["lang:es"]) for queue in queues.values()]
    existing = set(QueueMember.objects.filter(organization=organization).values_list("queue_id", "user_id"))
    QueueMember.objects.bulk_create(
        QueueMember(organization=organization, queue=queue, user=user, skills=skills)
        for queue, user, skills in wanted
        if (queue.pk, user.pk) not in existing
    )


def _refresh(label: str) -> dict[str, Any]:
    from worklists.refresh import refresh_work_items

    started = time.perf_counter()
    result = refresh_work_items()
    seconds = round(time.perf_counter() - started, 1)
    rules = {
        rule.kind: {
            "candidates": rule.candidates,
            "created": rule.created,
            "updated": rule.updated,
            "closed": rule.closed,
            "seconds": rule.seconds,
        }
        for rule in result.rules
        if rule.candidates or rule.created or rule.closed
    }
    counts = ", ".join(f"{result.total(what)} {what}" for what in ("created", "updated", "closed"))
    failed = ", ".join(result.failed_rules) or "none"
    print(f"refresh ({label}): {seconds} s; {counts}, {result.escalated} escalated; failed rules: {failed}")
    return {
        "path": f"full rules refresh ({label})",
        "as": "beat task",
        "seconds": seconds,
        "escalated": result.escalated,
        "woken": result.woken,
        "failed_rules": result.failed_rules,
        "rules": rules,
        "target_s": TARGETS["refresh_s"],
    }


def _summary(path: str, who: str, timings: list[float], queries: set[int], target: int) -> dict[str, Any]:
    timings.sort()
    return {
        "path": path,
        "as": who,
        "requests": len(timings),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 2),
        "max_ms": round(timings[-1], 2),
        "queries": sorted(queries),
        "target_p95_ms": target,
    }


def _get_next(clients: list[Any], requests: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    path = reverse("worklists:take_next")
    for client in clients[:5]:  # warm up
        client.post(path)
    timings, queries = [], set()
    for index in range(requests):
        client = clients[index % len(clients)]
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.post(path)
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 302 or "/work/items/" not in response["Location"]:
            raise SystemExit(f"take next answered {response.status_code} {response.get('Location')}")
        queries.add(len(ctx.captured_queries))
    return _summary("POST worklists:take_next (get next)", "representatives", timings, queries, 50)


def _get_next_service(reps: list[Any], organization: Any, requests: int) -> dict[str, Any]:
    from worklists.services import work_item_get_next

    timings = []
    for index in range(requests):
        started = time.perf_counter()
        item = work_item_get_next(user=reps[index % len(reps)], organization=organization)
        timings.append((time.perf_counter() - started) * 1000)
        if item is None:
            raise SystemExit("get next found nothing")
    return _summary("work_item_get_next() alone", "representatives", timings, set(), 50)


def _my_work(client: Any, requests: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    path = reverse("worklists:my_work")
    for _ in range(10):
        client.get(path)
    timings, queries = [], set()
    for _ in range(requests):
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"My work answered {response.status_code}")
        queries.add(len(ctx.captured_queries))
    return _summary("GET worklists:my_work", "representative", timings, queries, 100)


def _give_back(organization: Any, people: list[Any]) -> int:
    """Bench only: the items the measurements took go back to their queues, open and unassigned."""
    from worklists.models import WorkItem

    return WorkItem.objects.filter(
        organization=organization, status="in_progress", assignee__in=people
    ).update(status="open", assignee=None, taken_at=None)


def _sizes(organization: Any) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Count

    from accounts.models import PatientAccount
    from worklists.models import WorkItem

    by_status = dict(
        WorkItem.objects.filter(organization=organization)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('worklists_workitem'), version()")
        size, version = cursor.fetchone()
    return {
        "accounts": PatientAccount.objects.filter(organization=organization).count(),
        "work_items_by_status": by_status,
        "work_item_table_mb": round(size / 1024**2),
        "postgresql": version.split(" on ")[0],
    }


def run(*, accounts: int = 1_000_000, requests: int = 500, cold: bool = True) -> list[dict[str, Any]]:
    """Build what is missing, then measure; returns one result per measurement."""
    import scenario_accounts
    from django.db import connection
    from django.test import Client

    from staff.models import Organization

    results: list[dict[str, Any]] = []
    scenario_accounts.build(accounts, 0)
    organization = Organization.objects.get(slug=SLUG)
    reps, supervisor = _people(organization)
    if cold:
        with connection.cursor() as cursor:
            # Bench only: start from no work items at all, so the first refresh creates every one.
            cursor.execute("TRUNCATE worklists_workitem, worklists_historicalworkitem, worklists_refreshrun")
        results.append(_refresh("from no items"))
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) worklists_workitem")
        print(f"vacuum analyze of the new items: {time.perf_counter() - started:.1f} s")
    _join_queues(organization, reps, supervisor)
    results.append(_refresh("unchanged data"))

    def client_for(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        session = client.session
        session["active_organization_id"] = organization.pk
        session.save()
        return client

    clients = [client_for(rep) for rep in reps]
    try:
        results.append(_get_next(clients, requests))
        results.append(_get_next_service(reps, organization, min(requests, 200)))
        # The first representative now has about a dozen items in progress and works two queues.
        results.append(_my_work(clients[0], requests))
    finally:
        _give_back(organization, reps)
    results.append({"path": "data", "as": "", **_sizes(organization)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts of the scale organization")
    parser.add_argument("--requests", type=int, default=500, help="requests per page measurement")
    parser.add_argument("--keep-items", action="store_true", help="skip the refresh from no items")
    parser.add_argument(
        "--database", default="", help="bench database name (default: the DATABASE_URL name + '_bench')"
    )
    args = parser.parse_args()

    import run as bench_run

    url = bench_run._bench_database_url()
    if args.database:
        head, _, _ = url.rpartition("/")
        url = f"{head}/{args.database}"
    bench_run._ensure_database(url, rebuild=False)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    call_command("migrate", verbosity=0)

    load_before = os.getloadavg()
    results = run(accounts=args.accounts, requests=args.requests, cold=not args.keep_items)
    report = {
        "command": " ".join(["python", "bench/scenario_worklists.py", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # Other work on the machine moves these figures: the 1-minute load before and after.
            "load_average": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        },
        "results": results,
    }
    print(f"\nload average (1 min) before and after: {report['machine']['load_average']}")
    print(f"{'measurement':<45} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  queries  target")
    for r in results:
        if "p95_ms" in r:
            print(
                f"{r['path']:<45} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['max_ms']:>8}  {r['queries']}  "
                f"p95 <= {r['target_p95_ms']} ms"
            )
        elif "seconds" in r:
            print(f"{r['path']:<45} {r['seconds']:>8} s{'':>19}  target <= {r['target_s']} s")
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / "worklists.json").write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
