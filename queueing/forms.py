"""Input shapes of the kiosk and the counter page; the actions decide the rules."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from bookings.models import EXTRA_UNITS_CHOICES, INTERPRETER_LANGUAGES
from desk.forms import WalkInForm


class KioskReferenceForm(forms.Form):
    reference = forms.CharField(
        label=_("Booking code"),
        max_length=30,
        help_text=_("Scan the QR code of your confirmation, or type the code, e.g. MAA-7KQ4-9XD2."),
        error_messages={"required": _("Please scan or type your booking code.")},
    )


class KioskServiceForm(forms.Form):
    service = forms.TypedChoiceField(coerce=int, error_messages={"required": _("Please choose a service.")})

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self._services = {service.pk: service for service in services}
        self.fields["service"].choices = [(service.pk, service.name) for service in services]

    def clean_service(self):
        return self._services[self.cleaned_data["service"]]


class TransferForm(forms.Form):
    to_counter = forms.TypedChoiceField(label=_("To counter"), coerce=int)

    def __init__(self, *args, counters, **kwargs):
        super().__init__(*args, **kwargs)
        self._counters = {counter.pk: counter for counter in counters}
        self.fields["to_counter"].choices = [(counter.pk, counter.name) for counter in counters]

    def clean_to_counter(self):
        return self._counters[self.cleaned_data["to_counter"]]


class PhoneBookingForm(WalkInForm):
    """A booking for a caller: the walk-in form's people, location and service, and a day and time."""

    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"}))
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        required=False,
        help_text=_("Required without an e-mail address: the desk can then call back."),
    )
    language = forms.ChoiceField(label=_("Language of the e-mails"), choices=settings.LANGUAGES, initial="en")
    enforce_notice = forms.BooleanField(
        label=_("Keep the service's minimum notice"),
        required=False,
        initial=False,
        help_text=_("Leave unticked to book at short notice, as the desk may."),
    )
    needs_wheelchair = forms.BooleanField(label=_("Needs wheelchair access"), required=False)
    interpreter_language = forms.ChoiceField(
        label=_("Interpreter"), required=False, choices=[("", _("No interpreter")), *INTERPRETER_LANGUAGES]
    )
    extra_time = forms.TypedChoiceField(
        label=_("Extra time"),
        coerce=int,
        required=False,
        empty_value=0,
        initial=0,
        choices=EXTRA_UNITS_CHOICES,
        help_text=_("Grid units more per person; the free times above take it into account."),
    )
    field_order = ["location", "service", "day", "time", "contact_email", "phone", "language", "municipality"]
