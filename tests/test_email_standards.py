"""Issue 11: the customer e-mails follow the standards (RFC 2387 multipart/related, valid HTML, a real Date
offset), carry the desk's one public name and its contact, and say the right thing when the desk cancels."""

from datetime import datetime
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model

from bookings import actions, emails
from bookings.models import EmailKind, Location, OutboxEmail
from tests.support.env import AMSTERDAM

pytestmark = pytest.mark.django_db

TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM)
KINDS = [EmailKind.CONFIRMATION, EmailKind.REMINDER, EmailKind.RESCHEDULE, EmailKind.MANAGE_LINK]


@pytest.fixture
def contact_desk(desk):
    Location.objects.filter(pk=desk.pk).update(
        public_name="Expat Centre Maastricht Region",
        contact_email="desk@expatcentre.example.org",
        contact_phone="+31 43 123 4567",
        directions_en="First floor, counters 1 to 3.",
        directions_nl="Eerste verdieping, loket 1 tot en met 3.",
    )
    desk.refresh_from_db()
    return desk


def book(desk, service, *, language="en", municipality=""):
    if municipality:
        service.requires_municipality = True
        service.save(update_fields=["requires_municipality"])
    return actions.book_appointment(
        location=desk,
        service=service,
        start=TUESDAY_9,
        names=[actions.PersonName("Ann", "Example")],
        contact_email="ann@example.org",
        language=language,
        municipality=municipality,
        now=datetime(2026, 11, 30, 8, 0, tzinfo=AMSTERDAM),
    ).appointment


def render(appointment, kind, revision=0):
    row = OutboxEmail.objects.get_or_create(
        appointment=appointment, kind=kind, revision=revision, defaults={"created_at": appointment.created_at}
    )[0]
    row.refresh_from_db()
    return emails.build_message(row, now=datetime(2026, 11, 30, 8, 5, tzinfo=AMSTERDAM))


class MetaTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.metas: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "meta":
            self.metas.append(dict(attrs))


@pytest.mark.parametrize("kind", KINDS)
def test_the_html_part_sits_in_a_multipart_related_that_names_its_type(desk, service, kind):
    message = render(book(desk, service), kind, revision=1 if kind == EmailKind.MANAGE_LINK else 0).message()
    related = [part for part in message.walk() if part.get_content_type() == "multipart/related"]
    assert len(related) == 1
    assert related[0].get_param("type") == "text/html"  # RFC 2387: the root part's type
    assert related[0].get_payload()[0].get_content_type() == "text/html"


def test_the_html_has_no_meta_without_content(desk, service):
    html = render(book(desk, service), EmailKind.CONFIRMATION).alternatives[0][0]
    parser = MetaTags()
    parser.feed(html)
    assert parser.metas
    for meta in parser.metas:
        assert "charset" in meta or "content" in meta, meta


def test_the_date_header_has_the_desks_offset_not_minus_zero(desk, service):
    message = render(book(desk, service), EmailKind.CONFIRMATION).message()
    assert not message["Date"].endswith("-0000")
    assert message["Date"].endswith("+0100")  # Amsterdam in winter
    assert parsedate_to_datetime(message["Date"]) == datetime(2026, 11, 30, 8, 5, tzinfo=AMSTERDAM)


@pytest.mark.parametrize("kind", [*KINDS, EmailKind.CANCELLATION])
def test_every_e_mail_has_the_desks_name_as_sender_and_in_its_subject_and_its_contact(
    contact_desk, service, settings, kind
):
    settings.DEFAULT_FROM_EMAIL = "ExpatDesk <noreply@afspraak.example.nl>"
    appointment = book(contact_desk, service)
    if kind == EmailKind.CANCELLATION:
        appointment = actions.cancel_appointment(appointment=appointment, now=TUESDAY_9.replace(hour=8))
    message = render(appointment, kind, revision=1 if kind == EmailKind.MANAGE_LINK else 0)
    parsed = message.message()
    assert parseaddr(parsed["From"]) == ("Expat Centre Maastricht Region", "noreply@afspraak.example.nl")
    assert parsed["Reply-To"] == "desk@expatcentre.example.org"
    assert "Expat Centre Maastricht Region" in message.subject
    html = message.alternatives[0][0]
    for part in (message.body, html):
        assert "desk@expatcentre.example.org" in part
        assert "+31 43 123 4567" in part
        assert "replies are not read" not in part


def test_without_a_contact_address_there_is_no_reply_to_and_replies_are_said_unread(desk, service):
    message = render(book(desk, service), EmailKind.CONFIRMATION)
    assert "Reply-To" not in message.message()
    assert "replies are not read" in message.body
    assert parseaddr(message.message()["From"])[0] == desk.name


def test_the_confirmation_says_where_to_go_when_to_arrive_and_the_municipality(contact_desk, service):
    appointment = book(contact_desk, service, municipality="Heerlen")
    message = render(appointment, EmailKind.CONFIRMATION)
    for part in (message.body, message.alternatives[0][0]):
        assert "First floor, counters 1 to 3." in part
        assert "Please arrive 10 minutes before your appointment." in part
        assert "Heerlen" in part
        assert "https://www.openstreetmap.org/search?query=" in part


def test_a_cancellation_says_the_file_removes_the_appointment_from_the_calendar(desk, service):
    appointment = actions.cancel_appointment(appointment=book(desk, service), now=TUESDAY_9.replace(hour=8))
    message = render(appointment, EmailKind.CANCELLATION)
    for part in (message.body, message.alternatives[0][0]):
        assert "removes the appointment from your calendar" in part
        assert "adds the appointment to your calendar" not in part
        assert "We are sorry" not in part  # the person cancelled it themselves


@pytest.mark.parametrize("language", ["en", "nl"])
def test_the_desks_cancellation_gives_its_reason_an_apology_and_how_to_reach_the_desk(contact_desk, service, language):
    staff = get_user_model().objects.create_user(username="desk-staff")
    appointment = actions.staff_cancel_appointment(
        appointment=book(contact_desk, service, language=language),
        reason="The counter is closed for repairs",
        now=TUESDAY_9.replace(hour=8),
        actor=staff,
    )
    message = render(appointment, EmailKind.CANCELLATION)
    sorry = {"en": "We are sorry", "nl": "Het spijt ons"}[language]
    for part in (message.body, message.alternatives[0][0]):
        assert "The counter is closed for repairs" in part
        assert sorry in part
        assert "+31 43 123 4567" in part and "desk@expatcentre.example.org" in part
    assert {"en": "We had to cancel", "nl": "We moesten"}[language] in message.subject
