"""The Dutch catalogue (locale/nl): every entry translated, nothing fuzzy, placeholders and markup kept,
the committed .mo compiled from the committed .po, no source string missing, and pages, errors and
e-mails that come out in Dutch.

The .po is read with the small parser below and the .mo with the standard library, so these tests
need no gettext tools; only the completeness check runs makemessages (GNU gettext, installed in CI).
"""

import ast
import gettext
import html
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation

from bookings import actions, emails
from bookings.availability import public_holiday_name
from bookings.models import EmailKind, OutboxEmail
from tests.support.desk import desk_staff, sign_in
from tests.support.env import AMSTERDAM, require
from tests.support.urls import reverse

MESSAGES = Path(settings.BASE_DIR) / "locale" / "nl" / "LC_MESSAGES"
PO_FILE = MESSAGES / "django.po"
MO_FILE = MESSAGES / "django.mo"

# Python-format placeholders (%(name)s, %(count)d, a literal %%, bare %s) and str.format ones ({name}).
PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[sdif]|%%|%[sdif]|\{[A-Za-z_][A-Za-z0-9_]*\}")
TAG = re.compile(r"<[^>]+>")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    obsolete: bool = False

    @property
    def key(self) -> str:
        return f"{self.msgctxt}\x04{self.msgid}" if self.msgctxt is not None else self.msgid


def parse_po(path: Path) -> list[Entry]:
    """The entries of a gettext .po file (header included, obsolete entries marked)."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal entry, target
        if entry is not None and (entry.msgstr or entry.msgid or entry.msgid_plural):
            entries.append(entry)
        entry, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if entry is not None and entry.msgstr:
                finish()
            entry = entry or Entry(line=number)
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith('"'):
            assert entry is not None and target is not None, f"{path}:{number}: a string outside an entry"
            name, index = target
            text = ast.literal_eval(line)
            if name == "msgstr":
                entry.msgstr[index] += text
            else:
                setattr(entry, name, (getattr(entry, name) or "") + text)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and entry is not None and entry.msgstr:
            finish()
        entry = entry or Entry(line=number)
        entry.obsolete = entry.obsolete or obsolete
        text = ast.literal_eval(rest)
        plural_form = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if plural_form:
            target = ("msgstr", int(plural_form.group(1)))
            entry.msgstr[target[1]] = text
        elif keyword == "msgstr":
            target = ("msgstr", 0)
            entry.msgstr[0] = text
        else:
            assert keyword in ("msgctxt", "msgid", "msgid_plural"), f"{path}:{number}: unknown keyword {keyword}"
            target = (keyword, 0)
            setattr(entry, keyword, text)
    finish()
    return entries


def messages(path: Path = PO_FILE) -> list[Entry]:
    return [e for e in parse_po(path) if e.msgid and not e.obsolete]


def header(path: Path = PO_FILE) -> dict[str, str]:
    first = parse_po(path)[0]
    assert first.msgid == ""
    return dict(line.split(": ", 1) for line in first.msgstr[0].splitlines() if ": " in line)


def test_the_parser_reads_plurals_contexts_continuations_flags_and_obsolete_entries(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: nl\\n"\n\n'
        '#: a.py:1\n#, python-format\nmsgid "%(n)d day"\nmsgid_plural "%(n)d days"\n'
        'msgstr[0] "%(n)d dag"\nmsgstr[1] "%(n)d "\n"dagen"\n\n'
        'msgctxt "month"\nmsgid "May"\nmsgstr "mei"\n\n'
        '#, fuzzy\nmsgid "Say \\"hi\\""\nmsgstr ""\n\n'
        '#~ msgid "Gone"\n#~ msgstr "Weg"\n',
        encoding="utf-8",
    )
    plural, context, fuzzy, gone = messages(po) + [e for e in parse_po(po) if e.obsolete]
    assert header(po) == {"Language": "nl"}
    assert (plural.msgid, plural.msgid_plural, plural.msgstr) == (
        "%(n)d day",
        "%(n)d days",
        {0: "%(n)d dag", 1: "%(n)d dagen"},
    )
    assert "python-format" in plural.flags
    assert (context.key, context.msgstr) == ("month\x04May", {0: "mei"})
    assert (fuzzy.msgid, fuzzy.flags) == ('Say "hi"', {"fuzzy"})
    assert (gone.msgid, gone.obsolete) == ("Gone", True)


# ---- the catalogue itself ---------------------------------------------------------------------


def test_the_catalogue_is_dutch_with_two_plural_forms_and_not_fuzzy():
    meta = header()
    assert meta["Language"] == "nl"
    assert meta["Plural-Forms"].startswith("nplurals=2; plural=(n != 1);")
    assert meta["Content-Type"] == "text/plain; charset=UTF-8"
    assert "fuzzy" not in parse_po(PO_FILE)[0].flags
    assert len(messages()) > 500


def test_every_entry_is_translated_and_none_is_fuzzy():
    problems = []
    for entry in messages():
        forms = 2 if entry.msgid_plural is not None else 1
        if "fuzzy" in entry.flags:
            problems.append(f"line {entry.line}: fuzzy: {entry.msgid!r}")
        if sorted(entry.msgstr) != list(range(forms)) or not all(s.strip() for s in entry.msgstr.values()):
            problems.append(f"line {entry.line}: not translated: {entry.msgid!r}")
    assert problems == []


def test_every_translation_keeps_the_placeholders_and_markup_of_its_source():
    problems = []
    for entry in messages():
        sources = [entry.msgid] if entry.msgid_plural is None else [entry.msgid, entry.msgid_plural]
        for index, source in enumerate(sources):
            target = entry.msgstr.get(index, "")
            for pattern in (PLACEHOLDER, TAG):
                if Counter(pattern.findall(source)) != Counter(pattern.findall(target)):
                    problems.append(f"line {entry.line}: {source!r} -> {target!r}")
    assert problems == []


def test_no_msgid_appears_twice():
    keys = Counter(entry.key for entry in messages())
    assert [key for key, count in keys.items() if count > 1] == []


def test_the_committed_mo_is_compiled_from_the_committed_po():
    with MO_FILE.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    expected: dict[object, str] = {}
    for entry in messages():
        if "fuzzy" in entry.flags:
            continue
        if entry.msgid_plural is None:
            expected[entry.key] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(entry.key, index)] = text
    compiled = {key: value for key, value in compiled.items() if key != ""}
    stale = sorted(str(key) for key in compiled.keys() ^ expected.keys())
    changed = sorted(str(key) for key in compiled.keys() & expected.keys() if compiled[key] != expected[key])
    assert (stale, changed) == ([], []), "run `make messages` (compilemessages) and commit the .mo"


def test_the_catalogue_has_every_translatable_string_of_the_source(tmp_path, monkeypatch, settings):
    """makemessages on a copy of the source adds no entry the committed catalogue lacks."""
    require(shutil.which("xgettext") is not None and shutil.which("msgmerge") is not None, "GNU gettext is needed")
    base = Path(settings.BASE_DIR)
    skip = {".venv", "node_modules", "tests", "var", "staticfiles", ".git", "__pycache__", "test-results"}
    shutil.copytree(
        base,
        tmp_path / "src",
        ignore=lambda folder, names: [n for n in names if n in skip or n.endswith((".pyc", ".mo", ".sqlite3"))],
    )
    shutil.rmtree(tmp_path / "src" / "static" / "vendor", ignore_errors=True)
    monkeypatch.chdir(tmp_path / "src")
    settings.LOCALE_PATHS = [tmp_path / "src" / "locale"]
    call_command("makemessages", locale=["nl"], verbosity=0)
    missing = [
        entry.msgid
        for entry in messages(tmp_path / "src" / "locale" / "nl" / "LC_MESSAGES" / "django.po")
        if "fuzzy" in entry.flags or not all(entry.msgstr.values())
    ]
    assert missing == [], "new strings without Dutch: run `make messages` and translate them in locale/nl"


# ---- Dutch on the pages, in the errors and in the e-mails ----------------------------------------


def visible_text(content: str) -> str:
    content = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", content)
    attributes = re.findall(r'\b(?:aria-label|title|alt|placeholder|data-[a-z-]+)="([^"]*)"', content)
    return html.unescape(" ".join([TAG.sub(" ", content), *attributes]))


def english_sources_in(text: str) -> list[str]:
    """Source strings of the catalogue (long enough to be unambiguous) that appear untranslated in `text`."""
    text = " ".join(text.split())
    found = []
    for entry in messages():
        source = entry.msgid
        plain = len(source) >= 12 and not PLACEHOLDER.search(source) and "<" not in source
        if plain and source != entry.msgstr[0] and source in text:
            found.append(source)
    return found


@pytest.fixture
def dutch_client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"
    return client


@pytest.mark.parametrize(
    ("url", "status", "dutch"),
    [
        ("/", 200, ["Maak een afspraak bij ", "Wat heeft u nodig?", "Heeft u al een afspraak?", "U kunt tot 42"]),
        (
            "/find/",
            200,
            ["Mijn afspraak zoeken", "Vul het e-mailadres in waarmee u heeft geboekt", "Stuur mij de links"],
        ),
        ("/privacy/", 200, ["Privacyverklaring", "Wie is verantwoordelijk", "Autoriteit Persoonsgegevens"]),
        ("/accessibility/", 200, ["Toegankelijkheidsverklaring", "WCAG"]),
        ("/no-such-page/", 404, ["Pagina niet gevonden", "Deze pagina bestaat niet, of de link werkt niet meer."]),
    ],
)
def test_public_pages_are_in_dutch(dutch_client, desk, url, status, dutch):
    response = dutch_client.get(url, follow=True)  # `/` opens the only location; `/find/` is its find page
    assert response.status_code == status
    content = response.content.decode()
    assert '<html lang="nl"' in content
    text = " ".join(visible_text(content).split())
    for phrase in dutch:
        assert phrase in text
    # Issue 11: the desk's one public name (the location's), not a second product name.
    assert f"· {desk.display_name}" in text
    assert english_sources_in(text) == []


def test_the_questions_page_and_its_errors_are_in_dutch(dutch_client, desk, service):
    url = reverse("bookings:questions", kwargs={"service_code": service.code})
    page = visible_text(dutch_client.get(url).content.decode())
    assert "Voor hoeveel personen is de afspraak?" in page
    assert "Beschikbare dagen tonen" in page
    assert english_sources_in(page) == []
    errors = visible_text(dutch_client.post(url, {"persons": "99"}).content.decode())
    assert "Kies een aantal personen uit de lijst." in errors


def test_a_booking_error_is_in_dutch(desk, service, monday_morning):
    with pytest.raises(actions.BookingError) as raised:
        actions.hold_slot(
            location=desk,
            service=service,
            start=datetime(2026, 11, 1, 9, 0, tzinfo=AMSTERDAM),
            persons=1,
            now=monday_morning,
        )
    with translation.override("nl"):
        assert str(raised.value.message) == "Die tijd is al voorbij."
    with translation.override("en"):
        assert str(raised.value.message) == "That time has already passed."


@pytest.mark.django_db
def test_the_confirmation_e_mail_is_in_dutch(desk, service, monday_morning):
    appointment = actions.book_appointment(
        location=desk,
        service=service,
        start=datetime(2026, 12, 1, 9, 0, tzinfo=AMSTERDAM),
        names=[actions.PersonName("Ann", "Example")],
        contact_email="ann@example.org",
        language="nl",
        now=monday_morning,
    ).appointment
    row = OutboxEmail.objects.get(appointment=appointment, kind=EmailKind.CONFIRMATION)
    message = emails.build_message(row)
    assert (
        message.subject
        == f"Uw afspraak bij {desk.display_name} op dinsdag 1 december 2026, 09:00 ({appointment.reference})"
    )
    body = " ".join(message.body.split())
    for phrase in [
        "Uw afspraak is gemaakt",
        "Beste Ann Example,",
        f"Bedankt. Uw afspraak bij {desk.name} is gemaakt.",
        "Afspraakcode:",
        "Datum: dinsdag 1 december 2026",
        "Personen: Ann Example",
        "Deze e-mail is automatisch verstuurd.",
    ]:
        assert phrase in body
    assert english_sources_in(body) == []
    assert english_sources_in(visible_text(message.alternatives[0][0])) == []


def test_public_holiday_names_follow_the_active_language():
    christmas = date(2026, 12, 25)
    with translation.override("nl"):
        assert public_holiday_name(christmas) == "Eerste kerstdag"
    with translation.override("en"):
        assert public_holiday_name(christmas) == "Christmas Day"


def test_the_desk_agenda_is_in_dutch_and_names_a_holiday_in_dutch(dutch_client, desk, service):
    sign_in(dutch_client, desk_staff())
    response = dutch_client.get(reverse("desk:agenda"), {"location": desk.pk, "day": "2026-12-24"})
    text = " ".join(visible_text(response.content.decode()).split())
    # The desk's one date format, in Dutch: "do 24 dec 2026".
    for phrase in ["Agenda: ", "do 24 dec 2026", "Aanmelden met afspraakcode", "De dag in cijfers"]:
        assert phrase in text
    assert english_sources_in(text) == []
    closed = dutch_client.get(reverse("desk:agenda"), {"location": desk.pk, "day": "2026-12-25"})
    assert "Gesloten: Eerste kerstdag" in " ".join(visible_text(closed.content.decode()).split())
