"""Desk forms: input shape only; the actions in bookings/actions/ enforce the rules."""

from itertools import pairwise

from django import forms
from django.utils.translation import gettext_lazy as _

from bookings.models import Counter, Location, Weekday
from bookings.municipalities import PARTICIPATING_MUNICIPALITIES
from bookings.opening_hours import HoursChange
from bookings.text import validate_name_characters
from services.models import Service


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=_("Code from your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Type the 6 digits your app shows.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip()


class AgendaForm(forms.Form):
    """Which day of which location, and optionally one counter; location and day default (first location,
    today) when left out."""

    location = forms.ModelChoiceField(queryset=None, label=_("Location"), empty_label=None)
    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    counter = forms.TypedChoiceField(label=_("Counter"), required=False, coerce=int, empty_value=None)
    q = forms.CharField(label=_("Reference or name"), required=False, max_length=100)
    after = forms.TimeField(label=_("From"), required=False, widget=forms.TimeInput(attrs={"type": "time"}))

    def __init__(self, *args, locations, counters=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(pk__in=[loc.pk for loc in locations])
        self.fields["location"].choices = [(loc.pk, loc.name) for loc in locations]
        if len(locations) == 1:
            # The picker shows only for a person who works at several locations.
            self.fields["location"].widget = forms.HiddenInput()
        self.counters = {counter.pk: counter for counter in counters}
        # Every location's counters are offered (the page has no script to narrow the list); a counter of
        # another location than the one chosen is refused below.
        several = len(locations) > 1
        self.fields["counter"].choices = [("", _("All counters"))] + [
            (counter.pk, f"{counter.location.name}: {counter.name}" if several else counter.name)
            for counter in counters
        ]

    def clean(self):
        cleaned = super().clean()
        counter_id, location = cleaned.get("counter"), cleaned.get("location")
        cleaned["counter"] = None
        if counter_id is not None and location is not None:
            counter = self.counters.get(counter_id)
            if counter is None or counter.location_id != location.pk:
                self.add_error("counter", _("Choose a counter of this location."))
            else:
                cleaned["counter"] = counter
        return cleaned


class ReferenceForm(forms.Form):
    reference = forms.CharField(
        label=_("Booking reference"),
        max_length=40,
        help_text=_("Type it, or scan the QR code on the confirmation."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the cancellation"),
        max_length=200,
        help_text=_("The person reads this in the cancellation e-mail."),
    )


class MoveForm(forms.Form):
    """A new day, one of that day's free times (each with the counters free for it), and a counter."""

    day = forms.DateField(label=_("New date"), widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(
        label=_("New start time"),
        widget=forms.Select,
        error_messages={"required": _("Choose one of the free times.")},
    )
    counter = forms.ModelChoiceField(
        queryset=None, label=_("Counter"), required=False, empty_label=_("Any free counter")
    )

    def __init__(self, *args, counters, options=(), counter_names=None, visit: bool = False, **kwargs) -> None:
        """`options`: bookings.moves.MoveOption of the day, in the location's time zone; `counters`: the
        counters staff may pick (a blocked counter's page leaves that counter out). `visit`: a visit of
        several parts, which moves whole to one of its arrival times; the planner chooses its counters."""
        super().__init__(*args, **kwargs)
        self.is_visit = visit
        if visit:
            del self.fields["counter"]
            self.fields["time"].label = _("New arrival time")
            self.fields["time"].widget.choices = [("", _("Choose a free time"))] + [
                (f"{option.start:%H:%M}", f"{option.start:%H:%M}–{option.end:%H:%M}") for option in options
            ]
            self.fields["time"].widget.attrs["class"] = "form-select"
            self.has_options = bool(options)
            return
        self.fields["counter"].queryset = Counter.objects.filter(pk__in=[c.pk for c in counters])
        self.fields["counter"].choices = [("", _("Any free counter"))] + [(c.pk, c.name) for c in counters]
        names = counter_names or {c.pk: c.name for c in counters}
        choices = [("", _("Choose a free time"))]
        for option in options:
            free = ", ".join(sorted(names.get(pk, "") for pk in option.counter_ids))
            label = f"{option.start:%H:%M}–{option.end:%H:%M} · " + (
                free or str(_("only on several counters together"))
            )
            choices.append((f"{option.start:%H:%M}", label))
        self.fields["time"].widget.choices = choices
        self.fields["time"].widget.attrs["class"] = "form-select"
        self.fields["counter"].widget.attrs["class"] = "form-select"
        self.has_options = bool(options)


class MunicipalityField(forms.ChoiceField):
    """The public form's list of participating municipalities, the location's own (`for_locations`: one
    group per location when there are several); a typed or posted name is matched whatever its capitals
    ("maastricht" is Maastricht). The walk-in action checks the name against the chosen location's list."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            choices=[("", _("None (not a registration)")), *((name, name) for name in PARTICIPATING_MUNICIPALITIES)],
            error_messages={"invalid_choice": _("Please choose a municipality from the list.")},
            **kwargs,
        )
        self.names: tuple[str, ...] = PARTICIPATING_MUNICIPALITIES

    def for_locations(self, locations) -> None:
        lists = [(location, tuple(location.municipality_list)) for location in locations]
        self.names = tuple(dict.fromkeys(name for _location, names in lists for name in names))
        none = ("", _("None (not a registration)"))
        if len(lists) == 1:
            self.choices = [none, *((name, name) for name in lists[0][1])]
        else:
            self.choices = [none, *((location.display_name, [(n, n) for n in names]) for location, names in lists)]

    def to_python(self, value) -> str:
        value = " ".join(str(super().to_python(value)).split())
        canonical = {name.casefold(): name for name in self.names}
        return canonical.get(value.casefold(), value)


class WalkInForm(forms.Form):
    location = forms.ModelChoiceField(queryset=None, label=_("Location"), empty_label=None)
    service = forms.ModelChoiceField(queryset=None, label=_("Service"), empty_label=None)
    contact_email = forms.EmailField(label=_("E-mail (optional)"), required=False)
    municipality = MunicipalityField(label=_("Municipality (for registration)"), required=False)
    # Set by the "already added?" step: staff confirm that the same names are a new walk-in.
    confirm_duplicate = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, locations, services, persons: int = 6, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(pk__in=[loc.pk for loc in locations])
        if len(locations) == 1:
            self.fields["location"].widget = forms.HiddenInput()
            self.fields["location"].initial = locations[0].pk
        self.fields["service"].queryset = Service.objects.filter(pk__in=[s.pk for s in services])
        self.fields["municipality"].for_locations(locations)  # each location's own list
        for index in range(1, persons + 1):
            required = index == 1
            self.fields[f"first_name_{index}"] = forms.CharField(
                label=_("Person %(n)d: first name(s)") % {"n": index},
                max_length=100,
                required=required,
                validators=[validate_name_characters],
            )
            self.fields[f"last_name_{index}"] = forms.CharField(
                label=_("Person %(n)d: last name") % {"n": index},
                max_length=100,
                required=required,
                validators=[validate_name_characters],
            )
        self.persons = persons

    def names(self) -> list[tuple[str, str]]:
        pairs = []
        for index in range(1, self.persons + 1):
            first = self.cleaned_data.get(f"first_name_{index}", "").strip()
            last = self.cleaned_data.get(f"last_name_{index}", "").strip()
            if first or last:
                pairs.append((first, last))
        return pairs

    def clean(self):
        cleaned = super().clean()
        for index in range(1, self.persons + 1):
            first = (cleaned.get(f"first_name_{index}") or "").strip()
            last = (cleaned.get(f"last_name_{index}") or "").strip()
            if bool(first) != bool(last):
                self.add_error(
                    f"last_name_{index}" if first else f"first_name_{index}",
                    _("Give both the first and the last name, as on the ID."),
                )
        return cleaned


class BlockForm(forms.Form):
    counter = forms.ModelChoiceField(queryset=None, label=_("Counter"), empty_label=None)
    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end_day = forms.DateField(
        label=_("Until date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for the same day."),
    )
    end_time = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_(
            "E.g. illness. Not shown to customers, unless you cancel an appointment on the counter: the "
            "cancellation form starts with this reason, which the person then reads."
        ),
    )

    def __init__(self, *args, counters, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["counter"].queryset = Counter.objects.filter(pk__in=[c.pk for c in counters]).select_related(
            "location"
        )


class ClosureForm(forms.Form):
    location = forms.ModelChoiceField(queryset=None, label=_("Location"), empty_label=None)
    start_date = forms.DateField(
        label=_("First closed day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end_date = forms.DateField(
        label=_("Last closed day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty to close one day."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, locations, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(pk__in=[loc.pk for loc in locations])

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The last closed day cannot be before the first."))
        return cleaned

    def closure(self):
        start = self.cleaned_data.get("start_date")
        if not start:
            return None
        return start, self.cleaned_data.get("end_date") or start


class OpeningHoursChangeForm(forms.Form):
    """A proposed set of opening intervals for one weekday, with the period it applies to."""

    INTERVALS = 3

    location = forms.ModelChoiceField(queryset=None, label=_("Location"), empty_label=None)
    weekday = forms.TypedChoiceField(label=_("Weekday"), coerce=int, choices=Weekday.choices)
    valid_from = forms.DateField(
        label=_("Valid from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty to start now."),
    )
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty when there is no end date."),
    )

    def __init__(self, *args, locations, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(pk__in=[loc.pk for loc in locations])
        for index in range(1, self.INTERVALS + 1):
            self.fields[f"opens_{index}"] = forms.TimeField(
                label=_("Interval %(n)d opens") % {"n": index},
                required=False,
                widget=forms.TimeInput(attrs={"type": "time"}),
            )
            self.fields[f"closes_{index}"] = forms.TimeField(
                label=_("Interval %(n)d closes") % {"n": index},
                required=False,
                widget=forms.TimeInput(attrs={"type": "time"}),
            )

    def clean(self):
        cleaned = super().clean()
        intervals = []
        for index in range(1, self.INTERVALS + 1):
            opens, closes = cleaned.get(f"opens_{index}"), cleaned.get(f"closes_{index}")
            if f"opens_{index}" in self.errors or f"closes_{index}" in self.errors:
                continue
            if bool(opens) != bool(closes):
                self.add_error(
                    f"closes_{index}" if opens else f"opens_{index}",
                    _("Give both the opening and the closing time, or neither."),
                )
            elif opens and closes and not opens < closes:
                self.add_error(f"closes_{index}", _("The closing time must be after the opening time."))
            elif opens and closes:
                intervals.append((opens, closes))
        intervals.sort()
        if any(later[0] < earlier[1] for earlier, later in pairwise(intervals)):
            raise forms.ValidationError(_("The opening intervals of a day must not overlap."))
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The last valid day cannot be before the first."))
        cleaned["intervals"] = tuple(intervals)
        return cleaned

    def change(self) -> HoursChange:
        data = self.cleaned_data
        return HoursChange(
            weekday=data["weekday"],
            intervals=data["intervals"],
            valid_from=data.get("valid_from"),
            valid_until=data.get("valid_until"),
        )
