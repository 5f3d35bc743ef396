"""The PHI access log: written by the helper, append-only in the database."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError
from django.test import RequestFactory
from django.utils import timezone

from staff.models import PhiAccessLog
from staff.phi import phi_access_record
from staff.tasks import phi_access_log_purge_expired


@pytest.fixture
def entry(org, rep):
    request = RequestFactory().get(
        "/accounts/123/?q=Jane+Doe", HTTP_USER_AGENT="Firefox", REMOTE_ADDR="10.1.2.3"
    )
    request.user = rep
    return phi_access_record(request=request, subject=org, organization=org)


def test_helper_records_who_what_when_where_without_the_query_string(entry, rep, org):
    assert entry.user == rep and entry.organization == org
    assert entry.subject_id == org.pk and entry.action == "view"
    assert entry.path == "/accounts/123/"
    assert entry.ip_address == "10.1.2.3"
    assert entry.user_agent == "Firefox"


def _sql(statement: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_update_is_rejected_by_the_database(entry):
    with pytest.raises((InternalError, ProgrammingError), match="append-only"):
        _sql("UPDATE staff_phiaccesslog SET path = '/x' WHERE id = %s", [entry.pk])
    with pytest.raises((InternalError, ProgrammingError), match="append-only"):
        PhiAccessLog.objects.filter(pk=entry.pk).update(path="/y")


def test_delete_of_a_recent_row_is_rejected(entry):
    with pytest.raises((InternalError, ProgrammingError), match="six years"):
        _sql("DELETE FROM staff_phiaccesslog WHERE id = %s", [entry.pk])
    assert PhiAccessLog.objects.filter(pk=entry.pk).exists()


def test_retention_job_deletes_only_expired_rows(org, rep, entry):
    old = PhiAccessLog.objects.create(
        organization=org,
        user=rep,
        subject_type=entry.subject_type,
        subject_id=org.pk,
        accessed_at=timezone.now() - timedelta(days=6 * 366 + 2),
    )
    assert phi_access_log_purge_expired() == 1
    assert not PhiAccessLog.objects.filter(pk=old.pk).exists()
    assert PhiAccessLog.objects.filter(pk=entry.pk).exists()
