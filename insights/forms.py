"""Input shape only: the actions enforce the rules."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from bookings.models import Location
from insights.kpis import Period
from insights.models import COMMENT_MAX_LENGTH, SCORE_MAX, SCORE_MIN
from services.models import Service

# A custom period covers at most this many days (the history table of the page stays readable).
MAX_CUSTOM_DAYS = 366


class ScoreForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Your score, from 1 (very poor) to 10 (excellent)"),
        choices=[(n, str(n)) for n in range(SCORE_MIN, SCORE_MAX + 1)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please choose a score from 1 to 10."),
            "invalid_choice": _("Please choose a score from 1 to 10."),
        },
    )


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Anything you would like to tell us? (optional)"),
        help_text=_("Please do not write your name, e-mail address or other personal details."),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": COMMENT_MAX_LENGTH}),
        error_messages={"max_length": _("Please keep your comment to %(limit_value)d characters.")},
    )


PERIOD_CHOICES = [("week", _("Week")), ("month", _("Month")), ("custom", _("Custom"))]


class DashboardForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label=_("Location"), empty_label=None)
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), label=_("Service"), required=False, empty_label=_("All services")
    )
    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES)
    day = forms.DateField(label=_("Week or month of"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, locations: list[Location], services: list[Service], today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["location"].queryset = Location.objects.filter(pk__in=[loc.pk for loc in locations])
        self.fields["location"].choices = [(loc.pk, loc.name) for loc in locations]
        self.fields["service"].queryset = Service.objects.filter(pk__in=[item.pk for item in services])
        self.fields["service"].choices = [("", _("All services"))] + [(item.pk, item.name) for item in services]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("period")
        if kind == "custom":
            start, end = cleaned.get("start"), cleaned.get("end")
            if start is None or end is None:
                raise forms.ValidationError(_("Give both the first and the last day of the period."))
            if end < start:
                raise forms.ValidationError(_("The last day must not be before the first."))
            if (end - start).days + 1 > MAX_CUSTOM_DAYS:
                raise forms.ValidationError(
                    _("A period can be at most %(days)d days long.") % {"days": MAX_CUSTOM_DAYS}
                )
            cleaned["period_obj"] = Period(kind="custom", first=start, last=end)
        elif kind in ("week", "month"):
            day = cleaned.get("day") or self.today
            if kind == "week":
                first = day - timedelta(days=day.weekday())
                cleaned["period_obj"] = Period(kind="week", first=first, last=first + timedelta(days=6))
            else:
                first = day.replace(day=1)
                last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
                cleaned["period_obj"] = Period(kind="month", first=first, last=last)
        return cleaned
