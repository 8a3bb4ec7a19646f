"""Which mailbox an e-mail address delivers to, for comparing addresses (issue 9). Pure functions.

Mail providers ignore some differences in how an address is written, so `name+tag@` and `n.a.m.e@` can
be one person's mailbox under many spellings. Comparisons (one live booking per mailbox and service,
the cool-down, the fair-share caps) use the normalised form; the address is stored as typed, since that
is where the e-mails go.

- Case: compared case-insensitively, as every provider delivers (RFC 5321 leaves the local part's case
  to the server; none of the providers people book with tell cases apart).
- Sub-addressing (RFC 5233): everything from the first `+` in the local part is dropped, for every
  domain. Gmail, Outlook.com and Microsoft 365, iCloud, Proton, Fastmail, Yandex and the default
  configuration of Postfix and Exim deliver `name+anything@` to `name@`; a company that gives two
  people `info+a@` and `info+b@` as separate mailboxes is the rare exception, and it only means those
  two cannot both hold a live booking for the same service at once.
- Dots: Gmail ignores dots in the local part, and googlemail.com is gmail.com; other providers do not,
  so dots count everywhere else.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

GMAIL = "gmail.com"
GMAIL_ALIASES = frozenset({GMAIL, "googlemail.com"})


def normalise_mailbox(email: str) -> str:
    """The canonical spelling of the mailbox `email` delivers to (lower case, no sub-address, ...)."""
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return address
    domain = domain.rstrip(".")
    base = local.split("+", 1)[0]
    if base:  # an address that starts with "+" has no sub-address to drop
        local = base
    if domain in GMAIL_ALIASES:
        domain = GMAIL
        local = local.replace(".", "") or local
    return f"{local}@{domain}"


def mailbox_key(email: str) -> str:
    """A keyed hash of the normalised mailbox (Appointment.mailbox_key): equal for every spelling of one
    mailbox, useless without the secret key. Empty for an empty address."""
    if not email or not email.strip():
        return ""
    mailbox = normalise_mailbox(email)
    return hmac.new(settings.SECRET_KEY.encode(), f"mailbox:{mailbox}".encode(), hashlib.sha256).hexdigest()
