"""The OpenAPI document of /api/v1/: valid, complete, served with its docs page from local assets, and
true to the API — schemathesis calls every operation with generated input and checks each answer, and that
whatever the schema allows is never refused as invalid."""

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
import schemathesis
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.v1 import tokens
from bookings import actions, availability
from bookings.actions import PersonName

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
# Examples per operation and generation mode; with 13 operations the whole run stays well under a minute.
MAX_EXAMPLES = 15

OPERATIONS = {
    ("GET", "/api/v1/services/"),
    ("GET", "/api/v1/services/{code}/"),
    ("GET", "/api/v1/locations/"),
    ("GET", "/api/v1/locations/{short_code}/"),
    ("GET", "/api/v1/locations/{short_code}/services/{code}/free-days/"),
    ("GET", "/api/v1/locations/{short_code}/services/{code}/free-times/"),
    ("GET", "/api/v1/locations/{short_code}/visits/free-times/"),
    ("POST", "/api/v1/holds/"),
    ("POST", "/api/v1/visits/holds/"),
    ("POST", "/api/v1/bookings/"),
    ("GET", "/api/v1/bookings/manage/"),
    ("POST", "/api/v1/bookings/manage/cancel/"),
    ("POST", "/api/v1/bookings/manage/move/"),
}


def test_schema_is_valid_openapi_3_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), stdout=StringIO())
    assert target.read_text().startswith("openapi: 3.")


@pytest.mark.parametrize("query", [{"format": "json"}, {}])
def test_the_served_schema_passes_openapi_spec_validator(client, query):
    """Issue 11: the document is valid OpenAPI 3 by an independent validator (`phone` had a default that
    broke its own pattern), in JSON and in YAML (the default)."""
    response = client.get("/api/v1/schema/", query)
    assert response.status_code == 200
    document = json.loads(response.content) if query else yaml.safe_load(response.content)
    validate(document)  # raises OpenAPIValidationError with the first problem


def test_schema_endpoint_describes_every_operation(client):
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert operations == OPERATIONS
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), (method, path)
            errors = [status for status in operation["responses"] if status.startswith("4")]
            assert errors, (method, path)
            for status in errors:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    manage = document["paths"]["/api/v1/bookings/manage/"]["get"]
    assert manage["security"] == [{"manageToken": []}]
    assert document["components"]["securitySchemes"]["manageToken"]["scheme"] == "bearer"


def test_docs_page_uses_only_local_assets_and_no_inline_script(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert not re.search(r"(https?:)?//[a-z0-9.-]+", page.replace("<!DOCTYPE html>", ""), re.IGNORECASE)
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(urls) == 5  # favicon, stylesheet, two bundles, the init script
    assert all(url.startswith("/") for url in urls)
    assert "<style" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    for url in urls:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
    init = client.get([url for url in urls if "script=" in url][0].replace("&amp;", "&"))
    assert init.status_code == 200 and init["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema/" in init.content.decode()


@pytest.fixture
def live_values(desk, service):
    """Real codes, free starts, hold tokens and manage tokens, so generated calls reach real data."""
    now = timezone.now()
    today = now.astimezone(desk.tz).date()
    slots = availability.free_slots(
        location=desk,
        service=service,
        persons=1,
        start_date=today + timedelta(days=1),
        end_date=today + timedelta(days=21),
        now=now,
    )
    starts = [slot.start for day_slots in slots.values() for slot in day_slots]
    assert len(starts) > 20
    holds = [
        tokens.hold_token(
            appointment_id=actions.hold_slot(location=desk, service=service, start=start, persons=1, now=now).pk
        )
        for start in starts[:3]
    ]
    manage = [
        actions.book_appointment(
            location=desk,
            service=service,
            start=start,
            names=[PersonName("Jane", "Doe")],
            contact_email="jane@example.org",
            now=now,
        ).manage_token
        for start in starts[3:8]
    ]
    return {
        "path": {"short_code": desk.short_code, "code": service.code},
        "starts": [start.isoformat() for start in starts[8:]],
        "holds": holds,
        "manage": manage,
    }


def _real_variants(operation, values) -> list:
    """Strategies that put real codes and tokens into otherwise generated requests."""
    path = operation.path
    variants = []
    if "{" in path:
        variants.append(operation.as_strategy(path_parameters={k: v for k, v in values["path"].items() if k in path}))
    if path.endswith("/visits/holds/"):
        variants.append(
            st.tuples(st.sampled_from(values["starts"]), st.integers(1, 2)).flatmap(
                lambda pick: operation.as_strategy(
                    body={
                        "location": values["path"]["short_code"],
                        "parts": [{"service": values["path"]["code"], "persons": list(range(1, pick[1] + 1))}],
                        "start": pick[0],
                    }
                )
            )
        )
    if path.endswith("/visits/free-times/"):
        variants.append(
            st.sampled_from(values["starts"]).flatmap(
                lambda start: operation.as_strategy(
                    path_parameters={"short_code": values["path"]["short_code"]},
                    query={"date": start[:10], "part": [f"{values['path']['code']}:1"]},
                )
            )
        )
    if path == "/api/v1/holds/":
        variants.append(
            st.tuples(st.sampled_from(values["starts"]), st.integers(1, 2)).flatmap(
                lambda pick: operation.as_strategy(
                    body={
                        "location": values["path"]["short_code"],
                        "service": values["path"]["code"],
                        "start": pick[0],
                        "persons": pick[1],
                    }
                )
            )
        )
    if path.endswith("/bookings/"):
        variants.append(
            st.sampled_from(values["holds"]).flatmap(
                lambda token: operation.as_strategy(
                    body={
                        "hold_token": token,
                        "names": [{"first_name": "Jane", "last_name": "Doe"}],
                        "email": "jane@example.org",
                        "consent": True,
                    }
                )
            )
        )
    if "/manage/" in path:
        variants.append(
            st.sampled_from(values["manage"]).flatmap(
                lambda token: operation.as_strategy(headers={"Authorization": f"Bearer {token}"})
            )
        )
        if path.endswith("/move/"):
            variants.append(
                st.tuples(st.sampled_from(values["manage"]), st.sampled_from(values["starts"])).flatmap(
                    lambda pick: operation.as_strategy(
                        headers={"Authorization": f"Bearer {pick[0]}"}, body={"start": pick[1]}
                    )
                )
            )
    return variants


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    db, live_values, settings_override, keep_test_connection
):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
    # Cancelling ends the manage tokens' bookings: cancel last, so reading and moving see live bookings.
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: "cancel" in op.path)
    assert {(op.method.upper(), op.path) for op in operations} == OPERATIONS
    for operation in operations:
        real = _real_variants(operation, live_values)
        # Real codes and tokens in about half of the calls; the rest entirely generated, valid or not.
        strategy = st.one_of(
            *real,
            operation.as_strategy(GenerationMode.POSITIVE),
            *real,
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=strategy)
        @settings(
            max_examples=MAX_EXAMPLES * 2,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            response = case.call()
            case.validate_response(response, checks=CHECKS)
            assert_schema_allowed_input_is_not_refused_as_invalid(case, response)

        call()


def assert_schema_allowed_input_is_not_refused_as_invalid(case, response) -> None:
    """Positive data acceptance (issue 11): what the schema allows the server never calls invalid (400).
    Well-formed input the rules refuse is a 409 or 422 (a taken time, an unknown code, a date in the past)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    assert response.status_code != 400, (case.method, case.formatted_path, case.query, case.body, response.text)


@pytest.fixture
def keep_test_connection():
    """A raw WSGI call closes the database connection after the response, as a real request does; the test's
    transaction lives on that connection, so keep it open (the test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def settings_override(settings):
    settings.EXPATDESK_API_POLL_RATE = "100000/m"
    settings.EXPATDESK_API_WRITE_RATE = "100000/m"
    return settings
