"""The pages a feedback e-mail's links open: the score (GET shows it, POST records it), an optional
comment, thanks. No account: the link's token (hashed at rest) is the key.

Why GET does not record: mail scanners and link prefetchers open every link of a message, so a GET that
recorded the score would record 1 … 10 in turn before the person clicked anything. The GET shows the
clicked score already chosen with one "Send" button (works without JavaScript, which the strict CSP and
DESIGN.md §7 want anyway); only the POST writes."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from expatdesk.ratelimits import rate_limited
from insights import actions
from insights.actions import FeedbackError
from insights.forms import CommentForm, ScoreForm
from insights.models import SCORE_MAX, SCORE_MIN, Feedback


def _in_their_language(request: HttpRequest, link) -> None:
    """The pages speak the language the person booked in, unless they chose one here (the switch)."""
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES and link.appointment.language:
        translation.activate(link.appointment.language)
        request.LANGUAGE_CODE = translation.get_language()


def _refused(request: HttpRequest, error: FeedbackError) -> HttpResponse:
    return render(request, "insights/feedback_refused.html", {"message": error.message}, status=error.status)


def _context(link, feedback: Feedback | None, **extra) -> dict:
    appointment = link.appointment
    return {
        "location": appointment.location,
        "service_name": appointment.service.name,
        "visit_day": appointment.start,
        "feedback": feedback,
        **extra,
    }


def _clicked_score(request: HttpRequest) -> tuple[int | None, bool]:
    """The score in the link (?score=7): (score, whether the query was bad)."""
    raw = request.GET.get("score", "")
    if raw == "":
        return None, False
    if raw.isdigit() and SCORE_MIN <= int(raw) <= SCORE_MAX:
        return int(raw), False
    return None, True


@never_cache
@require_http_methods(["GET", "POST"])
@rate_limited("manage")
def score(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    try:
        link = actions.check_feedback_link(token=token, now=now)
    except FeedbackError as error:
        return _refused(request, error)
    _in_their_language(request, link)
    feedback = Feedback.objects.filter(appointment_id=link.appointment_id).first()
    status = 200
    if request.method == "POST":
        form = ScoreForm(request.POST)
        if form.is_valid():
            try:
                actions.record_score(token=token, score=form.cleaned_data["score"], now=now)
            except FeedbackError as error:
                return _refused(request, error)
            return redirect("insights:feedback_comment", token=token)
        status = 400
    else:
        clicked, bad = _clicked_score(request)
        if bad:
            form = ScoreForm({"score": request.GET.get("score", "")})
            form.is_valid()
            status = 400
        else:
            if (
                feedback is not None
                and clicked not in (None, feedback.score)
                and now > actions.change_closes_at(feedback)
            ):
                return _refused(request, actions.closed_error(feedback))
            form = ScoreForm(initial={"score": clicked or (feedback.score if feedback else None)})
    return render(request, "insights/feedback_score.html", _context(link, feedback, form=form), status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@rate_limited("manage")
def comment(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    try:
        link = actions.check_feedback_link(token=token, now=now)
    except FeedbackError as error:
        return _refused(request, error)
    _in_their_language(request, link)
    feedback = Feedback.objects.filter(appointment_id=link.appointment_id).first()
    if feedback is None:
        return redirect("insights:feedback", token=token)
    status = 200
    if request.method == "POST":
        form = CommentForm(request.POST)
        if form.is_valid():
            try:
                actions.record_comment(token=token, comment=form.cleaned_data["comment"], now=now)
            except FeedbackError as error:
                return _refused(request, error)
            return redirect("insights:feedback_thanks", token=token)
        status = 400
    else:
        form = CommentForm(initial={"comment": feedback.comment})
    return render(request, "insights/feedback_comment.html", _context(link, feedback, form=form), status=status)


@never_cache
@require_GET
def thanks(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = actions.check_feedback_link(token=token, now=timezone.now())
    except FeedbackError as error:
        return _refused(request, error)
    _in_their_language(request, link)
    feedback = Feedback.objects.filter(appointment_id=link.appointment_id).first()
    if feedback is None:
        return redirect("insights:feedback", token=token)
    return render(request, "insights/feedback_thanks.html", _context(link, feedback))
