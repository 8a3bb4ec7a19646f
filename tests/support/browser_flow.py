"""Steps through the booking pages the way a person does: by what the page shows, never by typing URLs."""

import re

from django.core import mail
from django.utils import timezone

from bookings.models import Appointment

# Links to days with free times carry "<weekday day month>: free times" as their accessible name.
FREE_DAY = re.compile(r": free times$")
# A free time's button shows its start and its end for the chosen persons: "10:30–10:45".
TIME = re.compile(r"^\d{2}:\d{2}–\d{2}:\d{2}$")
MANAGE_LINK = re.compile(r"https?://\S+/manage/[^/\s]+/")


def choose_service(page, *, name: str) -> None:
    """Press "Book this" on the card whose heading is the service's name."""
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=name, exact=True))
    card.get_by_role("link", name="Book this").click()


def first_free_day(page, *, label: re.Pattern = FREE_DAY) -> None:
    """Click the first day offered after today; go to the next month while this one offers none."""
    first_day_after_today(
        days=lambda: page.get_by_role("link", name=label),
        next_month=lambda: page.get_by_role("link", name="Next month"),
    )


def first_day_after_today(*, days, next_month) -> None:
    """Click the first of `days()` (day links) after today, going to `next_month()` while there is none: today's
    times run out as the clock moves, so a test on them would depend on the minute it runs."""
    today = f"/{timezone.localdate().isoformat()}/"
    for _ in range(3):
        offered = days()
        later = [offered.nth(index) for index in range(offered.count())]
        later = [day for day in later if today not in (day.get_attribute("href") or "")]
        if later:
            later[0].click()
            return
        next_month().click()
    raise AssertionError("the calendar offered no free day in three months")


def first_free_time(page) -> str:
    button = page.get_by_role("button", name=TIME).first
    label = button.inner_text().strip()
    button.click()
    return label


def fill_details(page, *, names: list[tuple[str, str]], email: str, for_employee: bool = False) -> None:
    """The details form; `for_employee`: as signed-in HR staff see it (it speaks of the employee)."""
    for number, (first, last) in enumerate(names, start=1):
        if for_employee:
            legend = "The employee's name" if len(names) == 1 else f"Employee or family member {number}"
        else:
            legend = "Your name" if len(names) == 1 else f"Person {number}"
        group = page.get_by_role("group", name=legend)
        group.get_by_label("First name(s)").fill(first)
        group.get_by_label("Last name").fill(last)
    page.get_by_label("The employee's e-mail address" if for_employee else "E-mail address").fill(email)
    page.get_by_role("radio", name="English").check()
    page.get_by_role("checkbox", name=re.compile("privacy statement")).check()


def manage_link_from_last_email(*, to: str) -> str:
    messages = [message for message in mail.outbox if to in message.to]
    assert messages, f"no e-mail to {to}; outbox: {[m.subject for m in mail.outbox]}"
    found = MANAGE_LINK.findall(messages[-1].body)
    assert found, f"no manage link in the e-mail:\n{messages[-1].body}"
    return found[0]


def only_appointment() -> Appointment:
    appointments = list(Appointment.objects.all())
    assert len(appointments) == 1, appointments
    return appointments[0]
