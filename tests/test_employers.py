"""Employers: sign-up pending approval, approval by an admin, HR staff booking through the public flow,
and their list of their own bookings (only theirs, in a fixed number of queries)."""

from datetime import datetime

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.utils import timezone

from bookings import actions
from bookings.actions import BookingError
from bookings.models import Appointment
from employers import actions as employer_actions
from employers.models import Employer, EmployerBooking, EmployerMembership
from tests.support.desk import PASSWORD, desk_admin, desk_staff, sign_in
from tests.support.env import AMSTERDAM
from tests.support.public_flow import details_data, hold_first_time
from tests.support.urls import reverse

pytestmark = pytest.mark.django_db

TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=AMSTERDAM)
SIGN_UP = "/employer/sign-up/"


def make_employer(name: str = "Brightlands B.V.", *, email: str = "hr@brightlands.example", approved: bool = True):
    employer = employer_actions.sign_up_employer(
        name=name, sponsor_number="", contact_name="Hanna Rood", email=email, password=PASSWORD, now=timezone.now()
    )
    if approved:
        employer = employer_actions.approve_employer(employer=employer, now=timezone.now(), actor=None)
    user = User.objects.get(username=email)
    return employer, user


def employer_booking(employer, user, desk, service, start, *, now, email):
    appointment = actions.book_appointment(
        location=desk,
        service=service,
        start=start,
        names=[actions.PersonName("New", "Employee")],
        contact_email=email,
        now=now,
    ).appointment
    employer_actions.record_employer_booking(appointment=appointment, user=user, now=now)
    return appointment


# ---- sign-up and approval ---------------------------------------------------------------------


def sign_up_data(**extra) -> dict[str, str]:
    return {
        "name": "Brightlands B.V.",
        "sponsor_number": "12345678",
        "contact_name": "Hanna Rood",
        "email": "Hanna@Brightlands.example",
        "password": PASSWORD,
        "password_again": PASSWORD,
        **extra,
    }


def test_an_employer_signs_up_and_waits_for_approval(client):
    assert client.get(SIGN_UP).status_code == 200
    response = client.post(SIGN_UP, sign_up_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("employers:signed_up")
    assert client.get(response["Location"]).status_code == 200

    employer = Employer.objects.get()
    assert (employer.name, employer.sponsor_number, employer.contact_name) == (
        "Brightlands B.V.",
        "12345678",
        "Hanna Rood",
    )
    assert not employer.is_approved and employer.approved_at is None
    user = EmployerMembership.objects.get(employer=employer).user
    assert (user.username, user.email) == ("hanna@brightlands.example", "hanna@brightlands.example")
    assert not user.is_active and not user.is_staff and not user.is_superuser
    assert user.check_password(PASSWORD)
    assert (
        ModelBackend().authenticate(None, username="hanna@brightlands.example", password=PASSWORD) is None
    )  # not before approval


@pytest.mark.parametrize(
    "bad",
    [
        {"name": ""},
        {"name": "   "},
        {"contact_name": ""},
        {"email": "not-an-email"},
        {"email": ""},
        {"sponsor_number": "12 34; DROP"},
        {"sponsor_number": "1" * 21},
        {"password_again": PASSWORD + "x"},
        {"password": "short", "password_again": "short"},
        {"password": "password1234", "password_again": "password1234"},  # a common password
        {"name": "x" * 201},
    ],
)
def test_bad_sign_up_input_is_a_400_and_creates_nothing(client, bad):
    response = client.post(SIGN_UP, sign_up_data(**bad))
    assert response.status_code == 400
    assert "Error:" in response.content.decode()
    assert not Employer.objects.exists()
    assert not User.objects.exists()


def test_a_sign_up_with_a_taken_address_looks_the_same_and_creates_nothing(client):
    desk_staff("hanna@brightlands.example")
    response = client.post(SIGN_UP, sign_up_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("employers:signed_up")
    assert not Employer.objects.exists()
    assert User.objects.count() == 1


def test_approval_activates_the_hr_staff_and_records_who_approved():
    employer, user = make_employer(approved=False)
    admin = desk_admin()
    now = timezone.now()
    approved = employer_actions.approve_employer(employer=employer, now=now, actor=admin)
    user.refresh_from_db()
    assert approved.is_approved and approved.approved_at == now and approved.approved_by == admin
    assert user.is_active
    assert ModelBackend().authenticate(None, username=user.username, password=PASSWORD) == user
    with pytest.raises(BookingError) as again:
        employer_actions.approve_employer(employer=employer, now=now, actor=admin)
    assert again.value.code == employer_actions.ALREADY_APPROVED


def test_an_admin_approves_employers_with_the_admin_action(client):
    pending, hr_user = make_employer(approved=False)
    already, _other = make_employer("Other B.V.", email="hr@other.example")
    sign_in(client, desk_admin())
    changelist = reverse("admin:employers_employer_changelist")
    assert client.get(changelist).status_code == 200
    response = client.post(
        changelist, {"action": "approve_selected", "_selected_action": [pending.pk, already.pk]}, follow=True
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "1 employer approved" in content
    assert "already approved" in content
    pending.refresh_from_db()
    hr_user.refresh_from_db()
    assert pending.is_approved and hr_user.is_active


# ---- signing in and the list of bookings ---------------------------------------------------------


def test_hr_staff_sign_in_with_password_then_the_code(client):
    _employer, user = make_employer()
    assert client.get("/employer/").url.startswith("/employer/login/?next=/employer/")
    assert client.get("/employer/login/").status_code == 200
    response = client.post("/employer/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/employer/"
    response = client.get("/employer/")
    assert response.status_code == 302
    assert response.url.startswith("/desk/verify/?next=")  # the authenticator app's code comes next


def test_hr_staff_of_an_employer_not_yet_approved_cannot_sign_in(client):
    _employer, user = make_employer(approved=False)
    response = client.post("/employer/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/employer/").status_code == 302


def test_the_list_shows_the_employers_own_bookings_only(client, desk, service, monday_morning):
    employer, user = make_employer()
    other, other_user = make_employer("Other B.V.", email="hr@other.example")
    ours = employer_booking(employer, user, desk, service, TUESDAY_10, now=monday_morning, email="a@example.org")
    theirs = employer_booking(other, other_user, desk, service, TUESDAY_10, now=monday_morning, email="b@example.org")
    anyone = actions.book_appointment(
        location=desk,
        service=service,
        start=TUESDAY_10,
        names=[actions.PersonName("Walk", "In")],
        contact_email="c@example.org",
        now=monday_morning,
    ).appointment

    sign_in(client, user)
    response = client.get("/employer/")
    assert response.status_code == 200
    content = response.content.decode()
    assert ours.reference in content
    assert "New Employee" in content
    assert theirs.reference not in content
    assert anyone.reference not in content


def test_the_list_costs_the_same_queries_for_0_1_and_20_bookings(
    client, desk, service, monday_morning, django_assert_num_queries
):
    employer, user = make_employer()
    sign_in(client, user)
    client.get("/employer/")  # warm the session

    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get("/employer/").status_code == 200
        return len(queries)

    empty = count_queries()
    employer_booking(employer, user, desk, service, TUESDAY_10, now=monday_morning, email="e0@example.org")
    one = count_queries()
    for index in range(1, 20):
        start = TUESDAY_10.replace(
            hour=9 + index // 4 if index < 12 else 14 + (index - 12) // 4, minute=15 * (index % 4)
        )
        employer_booking(employer, user, desk, service, start, now=monday_morning, email=f"e{index}@example.org")
    twenty = count_queries()
    assert EmployerBooking.objects.filter(employer=employer).count() == 20
    assert one == twenty
    assert empty <= one <= empty + 1  # the people's prefetch runs only when there is a booking


# ---- booking through the public flow -------------------------------------------------------------


def test_hr_staff_book_through_the_public_flow_and_the_booking_is_theirs(client, desk, service):
    employer, user = make_employer()
    sign_in(client, user)
    hold_first_time(client, service, 2)
    assert (
        "You are booking for an employee of Brightlands B.V."
        in client.get(reverse("bookings:details")).content.decode()
    )
    response = client.post(reverse("bookings:details"), details_data(2, email="new.employee@example.org"))
    assert response.status_code == 302
    appointment = Appointment.objects.get(status="booked")
    link = EmployerBooking.objects.get()
    assert (link.appointment, link.employer, link.booked_by) == (appointment, employer, user)
    assert appointment.booked_by == user
    assert appointment.contact_email == "new.employee@example.org"
    assert appointment.reference in client.get("/employer/").content.decode()


@pytest.mark.parametrize("who", ["anonymous", "desk staff", "pending employer", "employer without code"])
def test_other_bookers_do_not_book_for_an_employer(client, desk, service, who):
    if who == "desk staff":
        sign_in(client, desk_staff())
    elif who == "pending employer":
        _employer, user = make_employer(approved=False)
        user.is_active = True  # even an active account of an employer not approved
        user.save(update_fields=["is_active"])
        sign_in(client, user)
    elif who == "employer without code":
        _employer, user = make_employer()
        sign_in(client, user, second_factor=False)
    hold_first_time(client, service, 1)
    assert "You are booking for an employee" not in client.get(reverse("bookings:details")).content.decode()
    response = client.post(reverse("bookings:details"), details_data(1))
    assert response.status_code == 302
    assert Appointment.objects.get(status="booked").booked_by is None
    assert not EmployerBooking.objects.exists()


def test_record_employer_booking_refuses_someone_who_is_not_hr_staff(desk, service, monday_morning):
    appointment = actions.book_appointment(
        location=desk,
        service=service,
        start=TUESDAY_10,
        names=[actions.PersonName("Anna", "Jansen")],
        contact_email="anna@example.org",
        now=monday_morning,
    ).appointment
    with pytest.raises(BookingError) as refused:
        employer_actions.record_employer_booking(appointment=appointment, user=desk_staff(), now=monday_morning)
    assert refused.value.code == employer_actions.NOT_AN_EMPLOYER
    appointment.refresh_from_db()
    assert appointment.booked_by is None
    assert not EmployerBooking.objects.exists()


def test_record_employer_booking_refuses_a_cancelled_booking_and_is_idempotent(desk, service, monday_morning):
    employer, user = make_employer()
    first = employer_booking(employer, user, desk, service, TUESDAY_10, now=monday_morning, email="a@example.org")
    employer_actions.record_employer_booking(appointment=first, user=user, now=monday_morning)
    assert EmployerBooking.objects.count() == 1
    cancelled = actions.book_appointment(
        location=desk,
        service=service,
        start=TUESDAY_10,
        names=[actions.PersonName("Anna", "Jansen")],
        contact_email="b@example.org",
        now=monday_morning,
    ).appointment
    actions.cancel_appointment(appointment=cancelled, now=monday_morning)
    with pytest.raises(BookingError):
        employer_actions.record_employer_booking(appointment=cancelled, user=user, now=monday_morning)
    assert EmployerBooking.objects.count() == 1


@pytest.mark.parametrize("url", ["/employer/sign-up/", "/employer/login/"])
def test_sign_up_and_sign_in_posts_are_rate_limited_per_address(client, url):
    from django.test import override_settings

    data = sign_up_data(email="x@example.org") | {"username": "x@example.org"}
    with override_settings(EXPATDESK_RATE_LOGIN="2/h"):
        answers = [client.post(url, data, REMOTE_ADDR="10.9.9.9") for _ in range(2)]
        assert all(answer.status_code != 429 for answer in answers)
        limited = client.post(url, sign_up_data(email="y@example.org"), REMOTE_ADDR="10.9.9.9")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert not Employer.objects.filter(memberships__user__username="y@example.org").exists()


def test_the_code_page_shows_hr_staff_no_desk_links(client):
    _employer, user = make_employer()
    sign_in(client, user, second_factor=False)
    from tests.support.desk import totp_device

    totp_device(user)
    page = client.get("/desk/verify/?next=/employer/")
    assert page.status_code == 200
    content = page.content.decode()
    assert 'value="/employer/"' in content
    assert "Walk-in" not in content and "Agenda" not in content
    sign_in(client, desk_staff(), second_factor=False)
    assert "Walk-in" in client.get("/desk/2fa/setup/").content.decode()
