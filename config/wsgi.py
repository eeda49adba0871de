"""The WSGI application, with its URLconf already imported.

Django imports the URLconf (and with it every app's views) on the first request a
process serves; here it is imported with the application, so that under
``gunicorn --preload`` (config/gunicorn.conf.py) the master does it once and every
worker it forks answers its first request, ``/healthz`` included, at once. The
scoring views, which need pandas, scikit-learn and xgboost, are not among them:
they are imported on their own first request (``core.urls.lazy_view``).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
application = get_wsgi_application()


def _warm_up() -> None:
    from django.db import connections
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every urls module and view)
    # Nothing above should have connected; if it did, no socket is shared with the
    # forked workers.
    connections.close_all()


_warm_up()
