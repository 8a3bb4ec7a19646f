"""The IND API's desk and product look-ups (api.ind_keys.find_desk, find_offer) in plain SQL answer as the
ORM queries they replaced: the same location, the same offer with its service, for every kind of key; and the
offer's look-ups of both APIs read the location's configuration version in the same query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from api.ind_keys import find_desk, find_desk_and_offer, find_offer
from api.v1.selectors import bookable_location, bookable_offer, offered_service
from bookings import availability_sql
from bookings.actions import configuration
from bookings.models import ConfigurationVersion, Location, LocationService
from services.models import Service
from tests.support.factories import LocationFactory, ServiceFactory, offer

pytestmark = pytest.mark.django_db


def orm_desk(key: str) -> Location | None:
    return Location.objects.filter(Q(ind_desk_key=key) | Q(short_code=key), is_active=True).first()


def orm_offer(location: Location, key: str) -> LocationService | None:
    offers = list(
        LocationService.objects.select_related("service")
        .filter(location=location, service__is_active=True)
        .filter(Q(service__ind_product_key=key) | Q(service__ind_product_key="", service__code__iexact=key))
    )
    return next((o for o in offers if o.service.ind_product_key == key), offers[0] if offers else None)


def described(offer_: LocationService | None) -> tuple | None:
    if offer_ is None:
        return None
    service = offer_.service
    return (
        offer_.pk,
        offer_.location_id,
        offer_.minimum_notice_minutes,
        offer_.booking_horizon_days,
        tuple(getattr(service, f.attname) for f in type(service)._meta.concrete_fields),
    )


def test_desks_and_offers_are_the_orm_answers():
    here = LocationFactory(short_code="HRE", ind_desk_key="0123456789abcdef0123456789abcdef")
    LocationFactory(short_code="OFF", is_active=False)
    there = LocationFactory(short_code="THR")
    bio = Service.objects.get(ind_product_key="BIO")  # the catalogue's
    plain = ServiceFactory(code="registration-x")
    gone = ServiceFactory(code="gone-x", is_active=False)
    offer(here, [bio, plain, gone], booking_horizon_days=9)
    offer(there, [plain], minimum_notice_minutes=30)
    for key in ("HRE", "0123456789abcdef0123456789abcdef", "OFF", "THR", "hre", "NOPE"):
        found, expected = find_desk(key), orm_desk(key)
        assert (found and found.pk, found and found.is_active) == (expected and expected.pk, expected and True)
        if found is not None:
            assert [getattr(found, f.attname) for f in Location._meta.concrete_fields] == [
                getattr(expected, f.attname) for f in Location._meta.concrete_fields
            ]
    for location in (here, there):
        for key in ("BIO", "bio", "REGISTRATION-X", "registration-x", "Registration-X", "GONE-X", "DOC", "%", "_"):
            assert described(find_offer(location=location, key=key)) == described(orm_offer(location, key))
    assert find_offer(location=here, key="BIO").service.pk == bio.pk
    assert find_offer(location=there, key="registration-x").minimum_notice_minutes == 30
    # The desk and its offer in one query: the same as looking them up one after the other.
    for desk_key in ("HRE", "0123456789abcdef0123456789abcdef", "OFF", "THR", "NOPE", "", "x" * 65):
        for key in ("BIO", "bio", "REGISTRATION-X", "Registration-X", "GONE-X", "DOC", "%", "", "B" * 41, "B\x00"):
            location, found, _version = find_desk_and_offer(desk_key=desk_key, product_key=key)
            expected = orm_desk(desk_key) if desk_key and len(desk_key) <= 64 else None
            assert (location and location.pk) == (expected and expected.pk), (desk_key, key)
            valid = key and len(key) <= 40 and "\x00" not in key  # what the ORM is never asked
            wanted = orm_offer(expected, key) if expected is not None and valid else None
            assert described(found) == described(wanted), (desk_key, key)
    # /api/v1/'s location and offer in one query: the same as its lookups one after the other.
    for short_code in ("HRE", "OFF", "THR", "NOPE"):
        for code in ("registration-x", "gone-x", bio.code, "nope"):
            location, found, _version = bookable_offer(short_code=short_code, code=code)
            expected = bookable_location(short_code=short_code)
            assert (location and location.pk) == (expected and expected.pk), (short_code, code)
            wanted = None if expected is None else offered_service(location=expected, code=code)
            assert described(found) == described(wanted), (short_code, code)


def test_the_offer_comes_with_the_configuration_version_of_its_location(django_assert_num_queries):
    """A computed answer reads its rules under this version (availability's `version`): one query fewer."""
    here = LocationFactory(short_code="HRE")
    plain = ServiceFactory(code="registration-x")
    offer(here, [plain])
    version = ConfigurationVersion.objects.get(location_id=here.pk).version
    with django_assert_num_queries(2):
        assert find_desk_and_offer(desk_key="HRE", product_key="REGISTRATION-X")[2] == version
        location, found, read = bookable_offer(short_code="HRE", code="registration-x")
    assert (location, found.service, read) == (here, plain, version)
    now = timezone.now()
    configuration.add_closure(
        location=here, start_date=now.date() + timedelta(days=30), end_date=now.date() + timedelta(days=30),
        reason="Training", now=now,
    )  # fmt: skip
    changed = ConfigurationVersion.objects.get(location_id=here.pk).version
    assert changed != version
    assert find_desk_and_offer(desk_key="HRE", product_key="REGISTRATION-X")[2] == changed
    assert find_desk_and_offer(desk_key="HRE", product_key="NOPE") == (here, None, changed)  # the desk's, still
    assert bookable_offer(short_code="HRE", code="registration-x")[2] == changed
    assert bookable_offer(short_code="HRE", code="nope") == (here, None, changed)
    not_read = availability_sql.VERSION_NOT_READ
    assert find_desk_and_offer(desk_key="NOPE", product_key="REGISTRATION-X") == (None, None, not_read)
    assert bookable_offer(short_code="NOPE", code="registration-x") == (None, None, not_read)
