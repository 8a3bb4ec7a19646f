"""Forms for the public booking pages. They check the shape of input only; the rules live in actions."""

from __future__ import annotations

from datetime import UTC, date, datetime

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Fieldset, Layout
from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookings.models import INTERPRETER_LANGUAGES, MAX_EXTRA_UNITS, Location
from bookings.text import validate_name_characters
from services.models import Service

OTHER_MUNICIPALITY = "other"


def _helper(*layout: object) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False  # the templates write the <form> with its action and CSRF token
    helper.disable_csrf = True
    if layout:
        helper.layout = Layout(*layout)
    return helper


def parse_month(value: str | None) -> date | None:
    """'2026-12' → date(2026, 12, 1); None for anything else."""
    if not value or len(value) != 7:
        return None
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        return None


def parse_day(value: str | None) -> date | None:
    """'2026-12-01' → date(2026, 12, 1); None for anything else."""
    if not value or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class QuestionsForm(forms.Form):
    """What the service needs to know before a time can be offered: persons, and the municipality."""

    persons = forms.TypedChoiceField(
        label=_("How many persons is the appointment for?"),
        coerce=int,
        help_text=_("Include yourself, and family members who need the same service."),
        error_messages={
            "required": _("Please choose the number of persons."),
            "invalid_choice": _("Please choose a number of persons from the list."),
        },
    )
    municipality = forms.ChoiceField(
        label=_("Which municipality do you live in, or are you moving to?"),
        required=False,
        error_messages={"invalid_choice": _("Please choose a municipality from the list.")},
    )
    # A special need (Appointment.extra_units): asked here, since the free times depend on it.
    extra_time = forms.TypedChoiceField(
        label=_("Do you need extra time at the desk? (optional)"),
        coerce=int,
        required=False,
        empty_value=0,
        initial=0,
        widget=forms.RadioSelect,
        help_text=_("For example because of a disability, or when the desk has to explain things slowly."),
        error_messages={"invalid_choice": _("Please choose the extra time from the list.")},
    )

    def __init__(self, *args: object, service: Service, location: Location, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.service = service
        self.location = location
        self.fields["persons"].choices = [(n, str(n)) for n in range(1, service.max_persons + 1)]
        self.fields["extra_time"].choices = extra_time_choices(location)
        if service.requires_municipality:
            field = self.fields["municipality"]
            field.required = True
            field.error_messages["required"] = _("Please choose the municipality you live in or are moving to.")
            field.help_text = _("Fast-track registration is for new residents of the participating municipalities.")
            field.choices = [
                ("", _("Choose a municipality")),
                *((name, name) for name in location.municipality_list),
                (OTHER_MUNICIPALITY, _("Another municipality")),
            ]
        else:
            del self.fields["municipality"]
        self.helper = _helper()

    @property
    def is_outside(self) -> bool:
        """True when the person lives outside the participating municipalities (valid forms only)."""
        return self.cleaned_data.get("municipality") == OTHER_MUNICIPALITY

    def query(self) -> dict[str, str]:
        """The answers as query parameters for the calendar and times pages."""
        params = {"persons": str(self.cleaned_data["persons"])}
        if self.cleaned_data.get("municipality"):
            params["municipality"] = self.cleaned_data["municipality"]
        if self.cleaned_data.get("extra_time"):
            params["extra_time"] = str(self.cleaned_data["extra_time"])
        return params


def extra_time_choices(location: Location) -> list[tuple[int, str]]:
    """None, or one or two grid units more per person, worded in the location's minutes."""
    choices: list[tuple[int, str]] = [(0, _("No extra time"))]
    for units in range(1, MAX_EXTRA_UNITS + 1):
        minutes = units * location.grid_minutes
        choices.append(
            (
                units,
                ngettext("%(minutes)d minute more per person", "%(minutes)d minutes more per person", minutes)
                % {"minutes": minutes},
            )
        )
    return choices


class HoldForm(QuestionsForm):
    """A chosen start time with the answers it was offered for."""

    start = forms.CharField(max_length=40, error_messages={"required": _("Please choose a time.")})

    def clean_start(self) -> datetime:
        raw = self.cleaned_data["start"]
        try:
            start = datetime.fromisoformat(raw)
        except ValueError:
            raise forms.ValidationError(_("That time is not valid; please choose one of the times shown.")) from None
        if start.tzinfo is None or start.utcoffset() is None or not 2000 <= start.year <= 2200:
            raise forms.ValidationError(_("That time is not valid; please choose one of the times shown."))
        # In UTC: Python accepts offsets up to ±23:59, PostgreSQL only up to ±15:59 (a larger one was a 500).
        return start.astimezone(UTC)


class StartForm(forms.Form):
    """A new start time for an existing booking."""

    start = HoldForm.base_fields["start"]
    clean_start = HoldForm.clean_start


phone_validator = RegexValidator(
    r"^\+?[0-9 ()\-./]{6,30}$",
    _("Enter a phone number with digits only, for example +31 6 12345678."),
)


class DetailsForm(forms.Form):
    """The names of every person as on their ID, contact details, language and consent."""

    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("We send the confirmation and the link to change or cancel your appointment here."),
        error_messages={
            "required": _("Please enter your e-mail address."),
            "invalid": _("Enter an e-mail address like name@example.com."),
        },
    )
    phone = forms.CharField(
        label=_("Phone number (optional)"),
        max_length=32,
        required=False,
        validators=[phone_validator],
        help_text=_("Only used if the desk needs to reach you about this appointment."),
    )
    language = forms.ChoiceField(
        label=_("Language for e-mails"),
        choices=settings.LANGUAGES,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose a language.")},
    )
    # Special needs (optional, no free text): stored on the appointment, shown to the desk (and erased with the
    # rest of the personal data).
    needs_wheelchair = forms.BooleanField(
        label=_("Wheelchair access is needed (for me or someone coming with me)"), required=False
    )
    interpreter_language = forms.ChoiceField(
        label=_("Interpreter"),
        required=False,
        choices=[("", _("No interpreter")), *INTERPRETER_LANGUAGES],
        help_text=_("The desk arranges an interpreter for this language."),
        error_messages={"invalid_choice": _("Please choose an interpreter language from the list.")},
    )
    consent = forms.BooleanField(
        label=_("I have read the privacy statement and agree that the desk uses these details for my appointment."),
        error_messages={"required": _("Please agree to the privacy statement to book the appointment.")},
    )

    def __init__(self, *args: object, persons: int, for_employee: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.persons = persons
        if for_employee:
            # HR staff book for an employee (bookings/agents.py): the form speaks of the employee.
            self.fields["email"].label = _("The employee's e-mail address")
            self.fields["email"].help_text = _(
                "We send the confirmation and the link to change or cancel the appointment to the employee."
            )
            self.fields["email"].error_messages["required"] = _("Please enter the employee's e-mail address.")
            self.fields["phone"].label = _("The employee's phone number (optional)")
            self.fields["phone"].help_text = _(
                "Only used if the desk needs to reach the employee about this appointment."
            )
            self.fields["language"].label = _("The employee's language for e-mails")
            self.fields["consent"].label = _(
                "I have given the employee the privacy statement, and they agree that the desk uses these details "
                "for the appointment."
            )
            self.fields["consent"].error_messages["required"] = _(
                "Please confirm that the employee agrees to the privacy statement."
            )
        name_fields: dict[str, forms.Field] = {}
        fieldsets = []
        for number in range(1, persons + 1):
            name_fields[f"first_name_{number}"] = forms.CharField(
                label=_("First name(s)"),
                max_length=100,
                help_text=_("As on the passport or ID card."),
                validators=[validate_name_characters],
                error_messages={"required": _("Please enter the first name(s) as on the ID.")},
            )
            name_fields[f"last_name_{number}"] = forms.CharField(
                label=_("Last name"),
                max_length=100,
                validators=[validate_name_characters],
                error_messages={"required": _("Please enter the last name as on the ID.")},
            )
            if for_employee:
                legend = (
                    _("Employee or family member %(number)d") % {"number": number}
                    if persons > 1
                    else _("The employee's name")
                )
            else:
                legend = _("Person %(number)d") % {"number": number} if persons > 1 else _("Your name")
            fieldsets.append(
                Fieldset(
                    legend,
                    Field(f"first_name_{number}", autocomplete="given-name" if number == 1 else "off"),
                    Field(f"last_name_{number}", autocomplete="family-name" if number == 1 else "off"),
                    css_class="border rounded p-3 mb-3",
                )
            )
        # Names first, in order, then the contact details.
        self.fields = {**name_fields, **self.fields}
        self.helper = _helper(
            *fieldsets,
            Fieldset(
                _("How we reach the employee") if for_employee else _("How we reach you"),
                Field("email", autocomplete="email"),
                Field("phone", autocomplete="tel"),
                "language",
                css_class="border rounded p-3 mb-3",
            ),
            Fieldset(
                _("Special needs (optional)"),
                "needs_wheelchair",
                "interpreter_language",
                css_class="border rounded p-3 mb-3",
            ),
            Div(
                HTML('{% include "bookings/_privacy_summary.html" %}'),
                "consent",
            ),
        )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()

    def clean_phone(self) -> str:
        return self.cleaned_data["phone"].strip()

    def names(self) -> list[tuple[str, str]]:
        return [
            (self.cleaned_data[f"first_name_{n}"].strip(), self.cleaned_data[f"last_name_{n}"].strip())
            for n in range(1, self.persons + 1)
        ]


class FindBookingForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address you booked with"),
        max_length=254,
        error_messages={
            "required": _("Please enter your e-mail address."),
            "invalid": _("Enter an e-mail address like name@example.com."),
        },
    )
    reference = forms.CharField(
        label=_("Booking reference (optional)"),
        max_length=30,
        required=False,
        help_text=_(
            "It is in your confirmation e-mail and looks like MAA-7KQ4-9XD2. Leave it empty to get the links "
            "of all your bookings with this e-mail address."
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(Field("email", autocomplete="email"), Field("reference", autocomplete="off"))

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()

    def clean_reference(self) -> str:
        return self.cleaned_data["reference"].strip()


# ---- a visit of several services (issue 13) --------------------------------------------------------------


class VisitStartForm(forms.Form):
    """The first step of a visit: how many persons come, and which of the location's services they need."""

    persons = forms.TypedChoiceField(
        label=_("How many persons come to the visit?"),
        coerce=int,
        help_text=_("Include yourself, and family members who need one of the services."),
        error_messages={
            "required": _("Please choose the number of persons."),
            "invalid_choice": _("Please choose a number of persons from the list."),
        },
    )
    services = forms.MultipleChoiceField(
        label=_("Which services do you need?"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose every service you need; the desk does them one after the other in one visit."),
        error_messages={
            "required": _("Please choose at least one service."),
            "invalid_choice": _("Please choose the services from the list."),
        },
    )

    def __init__(self, *args: object, services: list[Service], max_persons: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["persons"].choices = [(n, str(n)) for n in range(1, max_persons + 1)]
        self.fields["services"].choices = [(service.code, service.name) for service in services]
        self.helper = _helper()


def person_label(number: int) -> str:
    return _("Person %(number)d") % {"number": number}


class VisitPersonsForm(forms.Form):
    """The second step of a visit: for each chosen service, which persons need it; and the municipality when
    one of the services asks for it. Plain checkboxes: it works without JavaScript."""

    def __init__(
        self, *args: object, services: list[Service], persons: int, location: Location, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.services = services
        self.persons = persons
        everyone = [str(n) for n in range(1, persons + 1)]
        if persons > 1:
            for service in services:
                self.fields[f"persons_{service.code}"] = forms.MultipleChoiceField(
                    label=_("Who needs %(service)s?") % {"service": service.name},
                    choices=[(str(n), person_label(n)) for n in range(1, persons + 1)],
                    widget=forms.CheckboxSelectMultiple,
                    initial=everyone,
                    error_messages={
                        "required": _("Please choose at least one person for %(service)s.") % {"service": service.name},
                        "invalid_choice": _("Please choose the persons from the list."),
                    },
                )
        if any(service.requires_municipality for service in services):
            self.fields["municipality"] = forms.ChoiceField(
                label=_("Which municipality do you live in, or are you moving to?"),
                help_text=_("Fast-track registration is for new residents of the participating municipalities."),
                choices=[
                    ("", _("Choose a municipality")),
                    *((name, name) for name in location.municipality_list),
                    (OTHER_MUNICIPALITY, _("Another municipality")),
                ],
                error_messages={
                    "required": _("Please choose the municipality you live in or are moving to."),
                    "invalid_choice": _("Please choose a municipality from the list."),
                },
            )
        self.helper = _helper()

    def persons_of(self, service: Service) -> tuple[int, ...]:
        if self.persons == 1:
            return (1,)
        return tuple(sorted(int(n) for n in self.cleaned_data[f"persons_{service.code}"]))

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.persons > 1 and not self.errors:
            covered = {person for service in self.services for person in self.persons_of(service)}
            missing = [n for n in range(1, self.persons + 1) if n not in covered]
            for service in self.services:
                chosen = self.persons_of(service)
                if len(chosen) > service.max_persons:
                    self.add_error(
                        f"persons_{service.code}",
                        ngettext(
                            "%(service)s is for at most %(max)d person per booking.",
                            "%(service)s is for at most %(max)d persons per booking.",
                            service.max_persons,
                        )
                        % {"service": service.name, "max": service.max_persons},
                    )
            if missing:
                raise forms.ValidationError(
                    _("Every person needs at least one service. Nobody is chosen for: %(persons)s.")
                    % {"persons": ", ".join(person_label(n) for n in missing)}
                )
        return cleaned

    @property
    def is_outside(self) -> bool:
        return self.cleaned_data.get("municipality") == OTHER_MUNICIPALITY
