from core.audit import audit_context
from core.timeline import event_record, mask_secrets, timeline_for


def test_mask_secrets_recurses():
    data = {"password": "hunter2", "nested": [{"api_key": "k", "ok": 1}], "reason": "r"}
    assert mask_secrets(data) == {
        "password": "********",
        "nested": [{"api_key": "********", "ok": 1}],
        "reason": "r",
    }


def test_event_record_takes_actor_and_request_id_from_context(org, rep):
    with audit_context(actor=rep, reason="testing", request_id="8a6f2a0c-1f4b-4c55-9d1e-000000000001"):
        event = event_record(
            organization=org,
            subject=org,
            kind="staff.test.happened",
            summary="It happened",
            data={"token": "secret", "value": 3},
        )
    assert event.actor == rep
    assert event.request_id == "8a6f2a0c-1f4b-4c55-9d1e-000000000001"
    assert event.data == {"token": "********", "value": 3}
    assert list(timeline_for(org)) == [event]
