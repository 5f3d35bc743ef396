"""Benchmarks: server time and query counts of the pages people use, on scale data.

Builds (once) a dedicated database ``<DATABASE_URL name>_bench`` and times requests
in-process through the full middleware stack (Django test client: server time, no
network). Prints a table and writes ``bench/results/latest.json``. Four scenarios:

- ``foundation``: ``--orgs`` client organizations and ``--users`` staff spread over them
  with one to three memberships each, a million PHI access-log rows; home page, members,
  access log and their API lists.
- ``accounts`` (``bench/scenario_accounts.py``): an organization of ``--accounts``
  patients loaded by ``manage.py seed_scale`` (about one account and five ledger lines
  each) plus one account with a ``--huge-ledger``; the account page and patient search.
- ``remittances`` (``bench/scenario_remittances.py``): a new organization of ``--claims``
  submitted claims and an 835 paying them, read, matched and posted end to end; parse time
  beside pyx12's, SQL statements per 1,000 claims, and peak memory of a ``--peak-claims``
  import.
- ``worklists`` (``bench/scenario_worklists.py``): the accounts scenario's million accounts, the
  follow-up rules refreshed over them (about 200,000 open items), queues with forty members;
  get next, the My work page and a full rules refresh.

    python -m tools.with_db python bench/run.py            # what `make bench` runs (all four)
    python -m tools.with_db python bench/run.py --only accounts --explain
    python -m tools.with_db python bench/run.py --only remittances --claims 10000
    python -m tools.with_db python bench/run.py --orgs 200 --users 5000 --requests 200 --accounts 100000
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


MEASURED_MEMBERS = 2000
SCENARIOS = ["foundation", "accounts", "remittances", "worklists"]


def _bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("DATABASE_URL is not set; run through `make bench` (it starts the embedded PostgreSQL).")
    parts = urlsplit(url)
    # The embedded server's URL carries its socket folder in the path (postgres://u@//dir/db):
    # only the last segment is the database name.
    head, _, name = parts.path.rpartition("/")
    return urlunsplit(parts._replace(path=f"{head}/{name or 'pfs'}_bench"))


def _ensure_database(url: str, *, rebuild: bool) -> None:
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
        if rebuild:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(config["NAME"]))
            )
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    conn.close()


def build_phi_log(rows: int) -> None:
    """Set-based insert of PHI access rows: a fifth in the measured organization, the rest spread."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from staff.models import Organization, PhiAccessLog

    if PhiAccessLog.objects.count() >= rows:
        return
    started = time.perf_counter()
    measured = Organization.objects.get(slug="bench-00000").pk
    first_org = Organization.objects.order_by("pk").values_list("pk", flat=True).first()
    org_count = Organization.objects.count()
    content_type = ContentType.objects.get_for_model(Organization).pk
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(user_id), max(user_id) FROM staff_membership WHERE organization_id = %s", [measured]
        )
        low, high = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO staff_phiaccesslog
                (organization_id, user_id, action, subject_type_id, subject_id, path, ip_address,
                 user_agent, request_id, accessed_at)
            SELECT CASE WHEN g %% 5 = 0 THEN %(measured)s ELSE %(first_org)s + g %% %(org_count)s END,
                   %(low)s + g %% (%(high)s - %(low)s + 1),
                   (ARRAY['view','view','view','download','print','export'])[1 + g %% 6],
                   %(ct)s, g, '/accounts/' || g || '/', '10.0.0.1', 'bench', '',
                   now() - (g || ' seconds')::interval
            FROM generate_series(1, %(rows)s) AS g
            """,
            {
                "measured": measured,
                "first_org": first_org,
                "org_count": org_count,
                "low": low,
                "high": high,
                "ct": content_type,
                "rows": rows,
            },
        )
        cursor.execute("ANALYZE staff_phiaccesslog")
    print(f"inserted {rows} PHI access rows in {time.perf_counter() - started:.1f} s")


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
        org_ids = list(Organization.objects.order_by("slug").values_list("pk", flat=True))
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
        measured = org_ids[0]  # bench-00000
        bench_users = User.objects.filter(email__endswith="@bench.test").order_by("email")
        for index, user_id in enumerate(bench_users.values_list("pk", flat=True)):
            orgs_of_user = rng.sample(org_ids[1:], k=rng.randint(1, 2))
            if index < MEASURED_MEMBERS:
                orgs_of_user.append(measured)
            # The first two people are the measured organization's admin and representative.
            role = {0: Role.ADMIN, 1: Role.REPRESENTATIVE}.get(index)
            for org_id in orgs_of_user:
                memberships.append(
                    Membership(user_id=user_id, organization_id=org_id, role=role or rng.choice(roles))
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
        # The query log is a bounded deque: once full, CaptureQueriesContext counts nothing.
        connection.queries_log.clear()
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
    parser.add_argument("--phi-rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=1_000_000, help="patients of the scale organization")
    parser.add_argument(
        "--huge-ledger", type=int, default=5000, help="ledger entries of the one huge account"
    )
    parser.add_argument(
        "--only",
        choices=SCENARIOS,
        help="run one scenario (default: every scenario)",
    )
    parser.add_argument("--claims", type=int, default=10_000, help="claims in the measured 835 (remittances)")
    parser.add_argument(
        "--peak-claims",
        type=int,
        default=50_000,
        help="claims of the second import, measured for peak memory (remittances; 0 skips it)",
    )
    parser.add_argument(
        "--claims-per-payment", type=int, default=2000, help="CLP loops per ST/SE payment (remittances)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the measured remittance import and print the heaviest functions",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="EXPLAIN ANALYZE the slowest queries of each accounts measurement",
    )
    parser.add_argument(
        "--budget", type=float, default=180.0, help="seconds after which one accounts measurement stops early"
    )
    parser.add_argument("--rebuild", action="store_true", help="drop the bench database and build it anew")
    args = parser.parse_args()
    scenarios = [args.only] if args.only else SCENARIOS

    url = _bench_database_url()
    _ensure_database(url, rebuild=args.rebuild)
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
    results: list[dict] = []
    data: dict = {}
    # The remittance scenario builds its own organization and poster: it needs none of the rest.
    if {"foundation", "accounts"} & set(scenarios):
        results, data = run_pages(args, scenarios)
    if "remittances" in scenarios:
        import scenario_remittances

        results += scenario_remittances.run(
            claims=args.claims,
            peak_claims=args.peak_claims,
            per_payment=args.claims_per_payment,
            profile=args.profile,
        )
    if "worklists" in scenarios:
        import scenario_worklists

        results += scenario_worklists.run(accounts=args.accounts, requests=args.requests)

    report = {
        "command": " ".join(["python", "bench/run.py", *sys.argv[1:]]),
        "data": data,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": results,
    }
    pages = [r for r in results if "p50_ms" in r]
    if pages:
        print(f"\n{'request':<45} {'as':<15} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  queries")
    for r in pages:
        timing = f"{r['p50_ms']:>8} {r['p95_ms']:>8} {r['max_ms']:>8}"
        target = f"  (target p95 <= {r['target_p95_ms']} ms)" if "target_p95_ms" in r else ""
        print(f"{r['path']:<45} {r['as']:<15} {timing}  {r['queries']}{target}")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=2, default=str))


def run_pages(args: argparse.Namespace, scenarios: list[str]) -> tuple[list[dict], dict]:
    """The foundation and accounts scenarios: request timings on their data."""
    build_data(args.orgs, args.users)
    if "foundation" in scenarios:
        build_phi_log(args.phi_rows)
    builds = {}
    if "accounts" in scenarios:
        import scenario_accounts

        builds = scenario_accounts.build(args.accounts, args.huge_ledger)

    from django.test import Client

    from staff.models import Membership, Organization, PhiAccessLog, User

    # The measured organization has MEASURED_MEMBERS members and a fifth of the PHI log.
    measured = Organization.objects.get(slug="bench-00000").pk
    admin = User.objects.get(email="bench0000000@bench.test")
    rep = User.objects.get(email="bench0000001@bench.test")
    members_in_measured = Membership.objects.filter(organization_id=measured).count()
    phi_rows_in_measured = PhiAccessLog.objects.filter(organization_id=measured).count()

    results = []
    if "foundation" in scenarios:
        results += measure_foundation(rep, admin, measured, args.requests)
    data = {
        "organizations": args.orgs,
        "users": args.users,
        "memberships": Membership.objects.count(),
        "members_in_measured_org": members_in_measured,
        "phi_access_rows": PhiAccessLog.objects.count(),
        "phi_access_rows_in_measured_org": phi_rows_in_measured,
    }
    if "accounts" in scenarios:

        def client_for(organization: Organization) -> Client:
            return _client(rep, organization.pk)

        results += scenario_accounts.run(
            client_for, rep, requests=args.requests, explain_slowest=args.explain, budget_s=args.budget
        )
        data["accounts"] = {**scenario_accounts.data_sizes(), **builds}
    return results, data


def _client(user, organization_id: int):
    from django.test import Client

    client = Client()
    client.force_login(user)
    # Pin the session to the measured organization.
    session = client.session
    session["active_organization_id"] = organization_id
    session.save()
    return client


def measure_foundation(rep, admin, measured: int, requests: int) -> list[dict]:
    from django.test import Client

    results = []
    for user, paths in [
        (rep, ["/", "/api/v1/me/"]),
        (
            admin,
            [
                "/",
                "/settings/members/",
                "/settings/members/?role=representative&q=Person%201",
                "/settings/access-log/",
                "/settings/access-log/?action=print",
                "/api/v1/memberships/?page_size=50",
                "/api/v1/phi-access-log/?page_size=50",
            ],
        ),
    ]:
        client = _client(user, measured)
        for path in paths:
            result = measure(client, path, requests)
            result["as"] = "admin" if user == admin else "representative"
            results.append(result)
    anonymous = Client()
    results.append({**measure(anonymous, "/accounts/login/", requests), "as": "anonymous"})
    return results


if __name__ == "__main__":
    main()
