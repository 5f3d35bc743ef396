"""Foundation benchmarks: server time and query counts of the requests every user makes.

Builds (once) a dedicated database ``<DATABASE_URL name>_bench`` with scale data:
``--orgs`` client organizations and ``--users`` staff spread over them with one to
three memberships each, then times requests in-process through the full middleware
stack (Django test client: server time, no network). Prints a table and writes
``bench/results/latest.json``.

    python -m tools.with_db python bench/run.py            # what `make bench` runs
    python -m tools.with_db python bench/run.py --orgs 200 --users 5000 --requests 200
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
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("DATABASE_URL is not set; run through `make bench` (it starts the embedded PostgreSQL).")
    parts = urlsplit(url)
    # The embedded server's URL carries its socket folder in the path (postgres://u@//dir/db):
    # only the last segment is the database name.
    head, _, name = parts.path.rpartition("/")
    return urlunsplit(parts._replace(path=f"{head}/{name or 'pfs'}_bench"))


def _ensure_database(url: str) -> None:
    import environ
    import psycopg2
    from psycopg2 import sql

    config = environ.Env.db_url_config(url)
    conn = psycopg2.connect(
        dbname="postgres",
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    conn.close()


def build_data(orgs: int, users: int) -> None:
    """Bulk-inserts scale data (bench data is not history-tracked: it is not business activity)."""
    import random

    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from staff.models import Membership, Organization, Role, Team, User

    if Organization.objects.count() >= orgs and User.objects.count() >= users:
        return
    rng = random.Random(42)
    started = time.perf_counter()
    password = make_password("bench-password-1")
    roles = list(Role)
    with transaction.atomic():
        Organization.objects.bulk_create(
            [
                Organization(name=f"Bench Client {i:05d}", slug=f"bench-{i:05d}", kind="hospital")
                for i in range(orgs)
            ],
            batch_size=2000,
        )
        org_ids = list(Organization.objects.values_list("pk", flat=True))
        Team.objects.bulk_create(
            [Team(organization_id=org_id, name="Patient accounts") for org_id in org_ids], batch_size=2000
        )
        for start in range(0, users, 5000):
            batch = [
                User(email=f"bench{i:07d}@bench.test", full_name=f"Bench Person {i}", password=password)
                for i in range(start, min(users, start + 5000))
            ]
            User.objects.bulk_create(batch, batch_size=5000)
        memberships = []
        for user_id in User.objects.filter(email__endswith="@bench.test").values_list("pk", flat=True):
            for org_id in rng.sample(org_ids, k=rng.randint(1, 3)):
                memberships.append(
                    Membership(user_id=user_id, organization_id=org_id, role=rng.choice(roles))
                )
        Membership.objects.bulk_create(memberships, batch_size=5000)
    print(
        f"built {orgs} organizations, {users} users, {len(memberships)} memberships "
        f"in {time.perf_counter() - started:.1f} s"
    )


def measure(client, path: str, requests: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(10):  # warm caches, connections, template loaders
        client.get(path)
    timings = []
    queries = set()
    for _ in range(requests):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        queries.add(len(ctx.captured_queries))
    timings.sort()
    return {
        "path": path,
        "requests": requests,
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
        "max_ms": round(timings[-1], 2),
        "queries": sorted(queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    url = _bench_database_url()
    _ensure_database(url)
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
    settings.WHITENOISE_AUTOREFRESH = True
    call_command("migrate", verbosity=0)
    build_data(args.orgs, args.users)

    # The busiest organization, seen by one of its admins and one of its representatives.
    from django.db.models import Count
    from django.test import Client

    from staff.models import Membership, Role

    busiest = (
        Membership.objects.values("organization_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()["organization_id"]
    )
    admin = (
        Membership.objects.filter(organization_id=busiest, role=Role.ADMIN)
        .select_related("user")
        .first()
        .user
    )
    rep = (
        Membership.objects.filter(organization_id=busiest, role=Role.REPRESENTATIVE)
        .select_related("user")
        .first()
    )
    members_in_busiest = Membership.objects.filter(organization_id=busiest).count()

    results = []
    for user, paths in [
        (rep.user, ["/", "/api/v1/me/"]),
        (admin, ["/", "/settings/members/", "/settings/access-log/", "/api/v1/memberships/?page_size=50"]),
    ]:
        client = Client()
        client.force_login(user)
        # Pin the session to the busiest organization.
        session = client.session
        session["active_organization_id"] = busiest
        session.save()
        for path in paths:
            result = measure(client, path, args.requests)
            result["as"] = "admin" if user == admin else "representative"
            results.append(result)
    anonymous = Client()
    results.append({**measure(anonymous, "/accounts/login/", args.requests), "as": "anonymous"})

    report = {
        "command": " ".join(["python", "bench/run.py", *sys.argv[1:]]),
        "data": {
            "organizations": args.orgs,
            "users": args.users,
            "memberships": Membership.objects.count(),
            "members_in_measured_org": members_in_busiest,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": results,
    }
    print(f"\n{'request':<45} {'as':<15} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  queries")
    for r in results:
        timing = f"{r['p50_ms']:>8} {r['p95_ms']:>8} {r['max_ms']:>8}"
        print(f"{r['path']:<45} {r['as']:<15} {timing}  {r['queries']}")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
