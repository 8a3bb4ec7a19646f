"""The embedded default for `make run`: debug on, SQLite unless DATABASE_URL is set."""

from .base import *  # noqa: F403
from .base import LOGGING, SECRET_KEY

DEBUG = True
# A fixed key is fine for a machine-local demo; production refuses to start without its own.
SECRET_KEY = SECRET_KEY or "django-insecure-local-demo-key-only-for-make-run-on-your-own-machine"

# A quiet console for `make run`: the development server's request lines and warnings, not a line for
# every e-mail task run in the web process (celery.app.trace) or every sign-in (django-axes).
LOGGING = {
    **LOGGING,
    "loggers": {
        "celery.app.trace": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
