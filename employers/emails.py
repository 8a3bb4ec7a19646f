"""The e-mails of an employer's sign-up: render only (employers/tasks.py sends them after the commit).

"Request received" to the applicant and "approved" to the HR staff, in the language they signed up in;
"new request" to the desk's admins (in the site's language), flagging a sponsor number another employer
already gave; and, when the address already has an account, a note to that address instead of a second
account (the sign-up page answers the same either way). Plain text and HTML, like the customer e-mails.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from desk.permissions import ADMINS_GROUP
from employers import selectors
from employers.models import Employer


@dataclass(frozen=True)
class Notice:
    to: list[str]
    language: str
    subject: str
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    link_url: str = ""
    link_label: str = ""


def _site(path: str) -> str:
    return settings.EXPATDESK_SITE_URL.rstrip("/") + path


def _hr_addresses(employer: Employer) -> list[str]:
    return sorted({m.user.email for m in employer.memberships.select_related("user") if m.user.email})


def admin_addresses() -> list[str]:
    """The desk's admins: active superusers and members of the Admins group with an e-mail address."""
    return sorted(
        set(
            get_user_model()
            .objects.filter(is_active=True)
            .filter(Q(is_superuser=True) | Q(groups__name=ADMINS_GROUP))
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def request_received(employer: Employer) -> Notice:
    with translation.override(employer.language):
        return Notice(
            to=_hr_addresses(employer),
            language=employer.language,
            subject=_("We received your request for an employer account"),
            heading=_("Request received"),
            paragraphs=[
                _("Thank you for asking for an account for %(name)s.") % {"name": employer.name},
                _(
                    "The desk checks your organisation and approves the account, usually within two working days. "
                    "You will get an e-mail then, and you can sign in with your e-mail address and password."
                ),
                _("Until then, signing in tells you that the account is not approved yet."),
            ],
        )


def new_request(employer: Employer) -> Notice:
    language = settings.LANGUAGE_CODE
    with translation.override(language):
        paragraphs = [
            _("%(name)s asks for an employer account (contact: %(contact)s).")
            % {"name": employer.name, "contact": employer.contact_name},
            _("KvK or IND sponsor number: %(number)s") % {"number": employer.sponsor_number or _("not given")},
        ]
        others = selectors.employers_with_sponsor_number(employer=employer)
        if others:
            paragraphs.append(
                _("Check before approving: this sponsor number is also given by %(others)s.")
                % {"others": ", ".join(other.name for other in others)}
            )
        return Notice(
            to=admin_addresses(),
            language=language,
            subject=_("New employer account request: %(name)s") % {"name": employer.name},
            heading=_("New employer account request"),
            paragraphs=paragraphs,
            link_url=_site(reverse("admin:employers_employer_change", args=[employer.pk])),
            link_label=_("Check and approve it in the admin"),
        )


def approved(employer: Employer) -> Notice:
    with translation.override(employer.language):
        return Notice(
            to=_hr_addresses(employer),
            language=employer.language,
            subject=_("Your employer account is approved"),
            heading=_("Your account is approved"),
            paragraphs=[
                _(
                    "The desk has approved the account of %(name)s. You can sign in now with your e-mail address and "
                    "password; the first time you set up an authenticator app for the second step."
                )
                % {"name": employer.name},
                _("Signed in, you book appointments for new employees and see, move or cancel them."),
            ],
            link_url=_site(reverse("employers:login")),
            link_label=_("Sign in"),
        )


def address_taken(*, email: str, language: str) -> Notice:
    with translation.override(language):
        return Notice(
            to=[email],
            language=language,
            subject=_("Someone asked for an employer account with your address"),
            heading=_("You already have an account"),
            paragraphs=[
                _(
                    "Someone asked for an employer account with this e-mail address, which already has an "
                    "account. No second account was made."
                ),
                _("If it was you, sign in with your existing account. If it was not, you can ignore this e-mail."),
            ],
            link_url=_site(reverse("employers:login")),
            link_label=_("Sign in"),
        )


def build_message(notice: Notice) -> EmailMultiAlternatives:
    with translation.override(notice.language):
        context = {"notice": notice, "language": notice.language}
        message = EmailMultiAlternatives(
            subject=notice.subject,
            body=render_to_string("employers/emails/notice.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=notice.to,
            headers={"Auto-Submitted": "auto-generated", "Content-Language": notice.language},
        )
        message.attach_alternative(render_to_string("employers/emails/notice.html", context), "text/html")
    return message
