"""The OpenAPI schema is valid, warning-free, and its docs page serves local assets only."""

from __future__ import annotations

import re

import yaml
from django.core.management import call_command
from django.urls import reverse


def test_schema_generation_is_valid_and_has_no_warnings(db, tmp_path):
    target = tmp_path / "schema.yaml"
    # --fail-on-warn turns any drf-spectacular warning (unresolvable types, enum name
    # collisions, missing serializers) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for expected in (
        "/api/v1/me/",
        "/api/v1/organizations/",
        "/api/v1/organizations/{reference}/",
        "/api/v1/organizations/{reference}/update-settings/",
        "/api/v1/memberships/",
        "/api/v1/memberships/{reference}/change-role/",
        "/api/v1/memberships/{reference}/deactivate/",
        "/api/v1/memberships/{reference}/reactivate/",
        "/api/v1/teams/",
        "/api/v1/approval-limits/",
        "/api/v1/approval-limits/set/",
        "/api/v1/phi-access-log/",
    ):
        assert expected in paths, expected


def test_schema_lookups_are_uuids_and_money_is_a_string(db, tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["schema"] == {"type": "string", "format": "uuid"}, path
    components = schema["components"]["schemas"]
    assert components["ApprovalLimit"]["properties"]["max_amount"]["type"] == "string"
    assert components["ApprovalLimitSetInputRequest"]["properties"]["max_amount"]["type"] == "string"
    assert "reason" in components["OrganizationUpdateInputRequest"]["required"]
    for name, component in components.items():
        assert "id" not in component.get("properties", {}), name


def test_schema_endpoint_serves_openapi_3(client, db):
    response = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/memberships/" in schema["paths"]


CDN_HOSTS = (
    "cdn.jsdelivr.net",
    "unpkg.com",
    "cdnjs.cloudflare.com",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
)


def external_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']((?:https?:)?//[^"']+)""", html)


def test_swagger_ui_loads_its_assets_from_the_sidecar_not_a_cdn(client, db):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in html
    assert external_urls(html) == []
    assert not any(host in html for host in CDN_HOSTS)


def test_swagger_ui_runs_under_the_content_security_policy(client, db):
    response = client.get(reverse("api-docs"))
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.content.decode())
    assert inline_scripts == []
