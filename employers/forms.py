"""Employer forms: input shape only; employers/actions.py enforces the rules."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from bookings.models import Location
from bookings.text import validate_name_characters
from desk.forms import MunicipalityField
from employers import selectors
from services.models import MAX_PERSONS_PER_BOOKING, Service

# How many parts (services) one visit booked on the employer's page can have.
VISIT_PARTS = 3


class EmployerAuthenticationForm(AuthenticationForm):
    """The desk's sign-in for HR staff: the address in any capitals, and "not approved yet" for an account
    waiting for approval, said only to someone who typed its password (everyone else gets the usual
    "not right" answer, in the same time)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_approved": _(
            "Your organisation's account has not been approved yet. You will get an e-mail once the desk has "
            "approved it; then you can sign in."
        ),
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()

    def get_invalid_login_error(self) -> ValidationError:
        username, password = self.cleaned_data.get("username") or "", self.cleaned_data.get("password") or ""
        if selectors.is_waiting_for_approval(username=username, password=password):
            return ValidationError(self.error_messages["not_approved"], code="not_approved")
        return super().get_invalid_login_error()


class SignUpForm(forms.Form):
    name = forms.CharField(label=_("Organisation name"), max_length=200)
    sponsor_number = forms.RegexField(
        label=_("KvK or IND sponsor number (optional)"),
        regex=r"^[0-9A-Za-z-]{0,20}$",
        max_length=20,
        required=False,
        error_messages={"invalid": _("Use only digits, letters and dashes (at most 20).")},
    )
    contact_name = forms.CharField(label=_("Your name"), max_length=120)
    email = forms.EmailField(
        label=_("Your work e-mail address"),
        max_length=254,
        help_text=_("You sign in with it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters; not a common password."),
    )
    password_again = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Please give the organisation's name."))
        return name

    def clean_contact_name(self) -> str:
        name = " ".join(self.cleaned_data["contact_name"].split())
        if not name:
            raise forms.ValidationError(_("Please give your name."))
        return name

    def clean(self) -> dict:
        cleaned = super().clean()
        password, again = cleaned.get("password"), cleaned.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", _("The two passwords are not the same."))
        elif password:
            if len(password) < 12:
                self.add_error("password", _("Please use at least 12 characters."))
            else:
                try:
                    password_validation.validate_password(password)
                except forms.ValidationError as error:
                    self.add_error("password", error)
        return cleaned


class VisitForm(forms.Form):
    """A visit of several parts for an employee and family: where and which day, the persons' names, and per
    part a service and which persons need it (none ticked: everyone). The arrival time is one of the free ones
    shown for that day (`time`, empty until one is chosen)."""

    location = forms.ModelChoiceField(queryset=None, label=_("Location"), empty_label=None)
    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    contact_email = forms.EmailField(
        label=_("The employee's e-mail address"),
        max_length=254,
        help_text=_("The confirmation and the manage link go there."),
    )
    municipality = MunicipalityField(label=_("Municipality (for registration)"), required=False)
    time = forms.TimeField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        locations = list(Location.objects.filter(is_active=True).order_by("name", "pk"))
        self.fields["location"].queryset = Location.objects.filter(pk__in=[loc.pk for loc in locations])
        self.fields["municipality"].for_locations(locations)
        for index in range(1, MAX_PERSONS_PER_BOOKING + 1):
            for name, label in (
                ("first_name", _("Person %(n)d: first name(s)")),
                ("last_name", _("Person %(n)d: last name")),
            ):
                self.fields[f"{name}_{index}"] = forms.CharField(
                    label=label % {"n": index},
                    max_length=100,
                    required=index == 1,
                    validators=[validate_name_characters],
                )
        persons = [(str(n), _("Person %(n)d") % {"n": n}) for n in range(1, MAX_PERSONS_PER_BOOKING + 1)]
        for index in range(1, VISIT_PARTS + 1):
            self.fields[f"service_{index}"] = forms.ModelChoiceField(
                queryset=Service.objects.active(),
                label=_("Part %(n)d: service") % {"n": index},
                required=index == 1,
                empty_label=_("(none)") if index > 1 else None,
            )
            self.fields[f"persons_{index}"] = forms.MultipleChoiceField(
                choices=persons,
                label=_("Part %(n)d: for") % {"n": index},
                required=False,
                widget=forms.CheckboxSelectMultiple,
                help_text=_("None ticked: for everyone."),
            )

    def names(self) -> list[tuple[str, str]]:
        """The persons' names in order (person 1, 2, …)."""
        pairs = []
        for index in range(1, MAX_PERSONS_PER_BOOKING + 1):
            first = (self.cleaned_data.get(f"first_name_{index}") or "").strip()
            last = (self.cleaned_data.get(f"last_name_{index}") or "").strip()
            if first or last:
                pairs.append((first, last))
        return pairs

    def parts(self) -> list[tuple[Service, tuple[int, ...]]]:
        """Each chosen service with the persons (numbered from 1) it is for."""
        everyone = tuple(range(1, len(self.names()) + 1))
        chosen = []
        for index in range(1, VISIT_PARTS + 1):
            service = self.cleaned_data.get(f"service_{index}")
            if service is not None:
                persons = tuple(sorted(int(n) for n in self.cleaned_data.get(f"persons_{index}") or ()))
                chosen.append((service, persons or everyone))
        return chosen

    def clean(self) -> dict:
        cleaned = super().clean()
        count = 0
        for index in range(1, MAX_PERSONS_PER_BOOKING + 1):
            first = (cleaned.get(f"first_name_{index}") or "").strip()
            last = (cleaned.get(f"last_name_{index}") or "").strip()
            if bool(first) != bool(last):
                self.add_error(
                    f"last_name_{index}" if first else f"first_name_{index}",
                    _("Give both the first and the last name, as on the ID."),
                )
            if first or last:
                count += 1
                if count != index:
                    self.add_error(f"first_name_{index}", _("Fill in the persons in order, without gaps."))
        for index in range(1, VISIT_PARTS + 1):
            ticked = [int(n) for n in cleaned.get(f"persons_{index}") or ()]
            if any(n > count for n in ticked):
                self.add_error(f"persons_{index}", _("Tick only persons whose names are filled in."))
        services = [cleaned.get(f"service_{index}") for index in range(1, VISIT_PARTS + 1)]
        chosen = [service for service in services if service is not None]
        if len(chosen) != len(set(chosen)):
            self.add_error(None, _("Choose each service once."))
        return cleaned
