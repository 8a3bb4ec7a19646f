"""Forms of the waitlist pages: the shape of input only; the rules live in waitlist/actions.py."""

from __future__ import annotations

from datetime import date

from crispy_forms.layout import Field, Fieldset
from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from bookings.forms import DetailsForm, _helper
from waitlist.models import AFTERNOON, MORNING, day_part_bit

PART_NAMES = {MORNING: _("morning"), AFTERNOON: _("afternoon")}


def day_part_choices() -> list[tuple[str, str]]:
    """ "0-0" → "Monday morning" … "6-1" → "Sunday afternoon" (weekday 0 is Monday)."""
    return [
        (f"{weekday}-{part}", _("%(day)s %(part)s") % {"day": WEEKDAYS[weekday], "part": PART_NAMES[part]})
        for weekday in range(7)
        for part in (MORNING, AFTERNOON)
    ]


class DaysField(forms.MultipleChoiceField):
    def to_bits(self, values: list[str]) -> int:
        bits = 0
        for value in values:
            weekday, part = (int(x) for x in value.split("-"))
            bits |= day_part_bit(weekday=weekday, part=part)
        return bits


def _days_fields(form: forms.Form) -> None:
    form.fields["day_parts"] = DaysField(
        label=_("Which days and parts of the day suit you?"),
        choices=day_part_choices(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Morning: a time before 12:00; afternoon: from 12:00."),
        error_messages={
            "required": _("Please choose at least one day and part of the day that suits you."),
            "invalid_choice": _("Please choose days from the list."),
        },
    )
    date_errors = {"invalid": _("Enter a date like 2026-12-31.")}
    form.fields["first_day"] = forms.DateField(
        label=_("From (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages=date_errors,
        help_text=_("Empty: from today."),
    )
    form.fields["last_day"] = forms.DateField(
        label=_("Until (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages=date_errors,
        help_text=_("Empty: as far ahead as can be booked."),
    )


def _clean_dates(form: forms.Form) -> None:
    first, last = form.cleaned_data.get("first_day"), form.cleaned_data.get("last_day")
    if first and last and last < first:
        form.add_error("last_day", _("The last day cannot be before the first day."))


class JoinForm(DetailsForm):
    """The names and e-mail address (as when booking), and the days that suit."""

    def __init__(self, *args: object, persons: int, **kwargs: object) -> None:
        super().__init__(*args, persons=persons, **kwargs)
        del self.fields["phone"]
        self.fields["email"].help_text = _("We send the confirmation, the link to leave the waitlist and offers here.")
        self.fields["consent"].label = _(
            "I have read the privacy statement and agree that the desk uses these details for the waitlist."
        )
        self.fields["consent"].error_messages["required"] = _("Please agree to the privacy statement to join.")
        _days_fields(self)
        name_sets = [
            Fieldset(
                _("Person %(number)d") % {"number": n} if persons > 1 else _("Your name"),
                Field(f"first_name_{n}", autocomplete="given-name" if n == 1 else "off"),
                Field(f"last_name_{n}", autocomplete="family-name" if n == 1 else "off"),
                css_class="border rounded p-3 mb-3",
            )
            for n in range(1, persons + 1)
        ]
        self.helper = _helper(
            Fieldset(_("When it suits you"), "day_parts", "first_day", "last_day", css_class="border rounded p-3 mb-3"),
            *name_sets,
            Fieldset(
                _("How we reach you"),
                Field("email", autocomplete="email"),
                "language",
                css_class="border rounded p-3 mb-3",
            ),
            "consent",
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        _clean_dates(self)
        return cleaned

    def day_part_bits(self) -> int:
        return self.fields["day_parts"].to_bits(self.cleaned_data["day_parts"])


class EarlierForm(forms.Form):
    """An earlier time for a booking: the days that suit before it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        _days_fields(self)
        del self.fields["last_day"]
        self.helper = _helper(
            Fieldset(_("When it suits you"), "day_parts", "first_day", css_class="border rounded p-3 mb-3")
        )

    def day_part_bits(self) -> int:
        return self.fields["day_parts"].to_bits(self.cleaned_data["day_parts"])


def default_first_day(value: date | None, today: date) -> date:
    return value or today
