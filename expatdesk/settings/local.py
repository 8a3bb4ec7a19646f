"""The embedded default for `make run`: debug on, SQLite unless DATABASE_URL is set."""

from .base import *  # noqa: F403
from .base import SECRET_KEY

DEBUG = True
# A fixed key is fine for a machine-local demo; production refuses to start without its own.
SECRET_KEY = SECRET_KEY or "django-insecure-local-demo-key-only-for-make-run-on-your-own-machine"
