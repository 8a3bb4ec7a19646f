"""Employer onboarding: the e-mails of a sign-up and an approval (EN and NL), "not approved yet" at sign-in,
a sponsor number given twice flagged to the admin, and a sign-up that does the same work whether or not the
address has an account."""

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from employers import actions as employer_actions
from employers import selectors as employer_selectors
from employers.models import Employer
from tests.support.desk import PASSWORD, desk_admin, desk_staff, make_user, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what the actions inside queue for after the commit (the e-mail tasks)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


SIGN_UP = "/employer/sign-up/"


def sign_up_data(**extra) -> dict[str, str]:
    return {
        "name": "Brightlands B.V.",
        "sponsor_number": "12345678",
        "contact_name": "Hanna Rood",
        "email": "hanna@brightlands.example",
        "password": PASSWORD,
        "password_again": PASSWORD,
        **extra,
    }


@pytest.fixture
def admins(db):
    """Two admins with an address (a superuser and an Admins member), and desk staff who get nothing."""
    boss = desk_admin("boss")
    boss.email = "boss@desk.example"
    boss.save()
    member = make_user("second", group="Admins", is_staff=True)
    member.email = "second@desk.example"
    member.save()
    staff = desk_staff("clerk")
    staff.email = "clerk@desk.example"
    staff.save()
    return ["boss@desk.example", "second@desk.example"]


def mails_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


@pytest.mark.parametrize(
    ("language", "received", "approved"),
    [
        ("en", "We received your request for an employer account", "Your employer account is approved"),
        ("nl", "We hebben uw aanvraag voor een werkgeversaccount ontvangen", "Uw werkgeversaccount is goedgekeurd"),
    ],
)
def test_sign_up_and_approval_send_their_emails_in_the_applicants_language(
    client, admins, committed, language, received, approved
):
    client.cookies["django_language"] = language
    with committed():
        response = client.post(SIGN_UP, sign_up_data(), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302
    employer = Employer.objects.get()
    assert employer.language == language
    [to_applicant] = mails_to("hanna@brightlands.example")
    assert to_applicant.subject == received
    assert to_applicant.extra_headers["Content-Language"] == language
    assert [alternative[1] for alternative in to_applicant.alternatives] == ["text/html"]
    [to_admins] = [message for message in mail.outbox if message is not to_applicant]
    assert sorted(to_admins.to) == admins  # not desk staff
    assert "Brightlands B.V." in to_admins.subject
    assert reverse("admin:employers_employer_change", args=[employer.pk]) in to_admins.body

    mail.outbox.clear()
    with committed():
        employer_actions.approve_employer(employer=employer, now=timezone.now(), actor=None)
    [to_hr] = mail.outbox
    assert to_hr.to == ["hanna@brightlands.example"]
    assert to_hr.subject == approved
    assert "/employer/login/" in to_hr.body


def test_no_email_goes_out_before_the_commit(admins, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        employer_actions.sign_up_employer(
            name="X B.V.",
            sponsor_number="",
            contact_name="X",
            email="x@x.example",
            password=PASSWORD,
            now=timezone.now(),
        )
    assert len(callbacks) == 1 and not mail.outbox


def test_a_sign_up_with_a_taken_address_mails_that_address_only(client, admins, committed):
    desk_staff("hanna@brightlands.example").__class__.objects.filter(username="hanna@brightlands.example").update(
        email="hanna@brightlands.example"
    )
    with committed():
        response = client.post(SIGN_UP, sign_up_data(email="HANNA@brightlands.example"))
    assert response.status_code == 302 and response["Location"] == reverse("employers:signed_up")
    assert not Employer.objects.exists()
    [note] = mail.outbox
    assert note.to == ["hanna@brightlands.example"]
    assert note.subject == "Someone asked for an employer account with your address"


def test_a_sign_up_does_the_same_work_whether_or_not_the_address_has_an_account(client, admins, committed, monkeypatch):
    """Counted, not timed: one password hash and one e-mail task, either way."""
    import employers.actions
    import employers.tasks

    work = []
    real_hash = employers.actions.make_password
    monkeypatch.setattr(employers.actions, "make_password", lambda raw: work.append("hash") or real_hash(raw))
    monkeypatch.setattr(employers.tasks.send_employer_email, "delay", lambda *args: work.append("mail task"))

    def work_done(email: str) -> list[str]:
        work.clear()
        with committed():
            assert client.post(SIGN_UP, sign_up_data(email=email)).status_code == 302
        return sorted(work)

    assert work_done("new@brightlands.example") == ["hash", "mail task"]
    assert work_done("new@brightlands.example") == ["hash", "mail task"]  # now taken
    assert work_done("boss@desk.example") == ["hash", "mail task"]  # an admin's address
    assert Employer.objects.count() == 1


# ---- signing in before approval ------------------------------------------------------------------

NOT_APPROVED = "Your organisation&#x27;s account has not been approved yet."
WRONG = "Please enter a correct"


@pytest.fixture
def pending(db):
    employer_actions.sign_up_employer(
        name="Brightlands B.V.",
        sponsor_number="",
        contact_name="Hanna Rood",
        email="hanna@brightlands.example",
        password=PASSWORD,
        now=timezone.now(),
    )
    return User.objects.get(username="hanna@brightlands.example")


def test_signing_in_before_approval_says_not_approved_yet(client, pending):
    response = client.post("/employer/login/", {"username": "Hanna@Brightlands.example", "password": PASSWORD})
    assert response.status_code == 200
    html = response.content.decode()
    assert NOT_APPROVED in html and WRONG not in html
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("username", "password"),
    [("hanna@brightlands.example", "not the password"), ("nobody@brightlands.example", PASSWORD)],
)
def test_without_the_password_nobody_learns_that_an_account_waits(client, pending, username, password, monkeypatch):
    import employers.selectors

    checks = []
    real = employers.selectors.check_password
    monkeypatch.setattr(employers.selectors, "check_password", lambda *a: checks.append(1) or real(*a))
    response = client.post("/employer/login/", {"username": username, "password": password})
    html = response.content.decode()
    assert WRONG in html and NOT_APPROVED not in html
    assert checks == [1]  # one hash checked either way: the time does not tell


def test_after_approval_the_same_sign_in_works(client, pending):
    employer_actions.approve_employer(employer=Employer.objects.get(), now=timezone.now(), actor=None)
    response = client.post("/employer/login/", {"username": "hanna@brightlands.example", "password": PASSWORD})
    assert response.status_code == 302


# ---- a sponsor number given twice ----------------------------------------------------------------


def test_a_sponsor_number_given_twice_is_flagged_to_the_admin(client, admins, committed):
    first = employer_actions.sign_up_employer(
        name="Brightlands B.V.",
        sponsor_number="KVK-123",
        contact_name="A",
        email="a@a.example",
        password=PASSWORD,
        now=timezone.now(),
    )
    mail.outbox.clear()
    with committed():
        second = employer_actions.sign_up_employer(
            name="Brightlands Imposter",
            sponsor_number="kvk-123",
            contact_name="B",
            email="b@b.example",
            password=PASSWORD,
            now=timezone.now(),
        )
    other = employer_actions.sign_up_employer(
        name="Other B.V.",
        sponsor_number="",
        contact_name="C",
        email="c@c.example",
        password=PASSWORD,
        now=timezone.now(),
    )
    assert employer_selectors.employers_with_sponsor_number(employer=second) == [first]
    assert employer_selectors.employers_with_sponsor_number(employer=other) == []
    [to_admins] = [message for message in mail.outbox if "boss@desk.example" in message.to][:1]
    assert "this sponsor number is also given by Brightlands B.V." in to_admins.body

    boss = User.objects.get(username="boss")
    sign_in(client, boss)
    changelist = reverse("admin:employers_employer_changelist")
    flagged = client.get(changelist + "?sponsor_number_used=twice")
    assert [e.name for e in flagged.context["cl"].result_list] == ["Brightlands B.V.", "Brightlands Imposter"]
    page = client.get(reverse("admin:employers_employer_change", args=[second.pk]), follow=True)
    html = page.content.decode()
    assert "Another employer gave the same sponsor number: check before approving." in html
    assert reverse("admin:employers_employer_change", args=[first.pk]) in html
    assert Group.objects.filter(name="Admins").exists()
