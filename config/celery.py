"""The Celery application.

Reliability settings (late acks, re-queue on worker loss, time limits, JSON only) are
in ``config.settings.base`` under the ``CELERY_`` prefix; periodic jobs are declared
here, in code, so that django-celery-beat's database schedule is always derived from
the repository and never edited by hand.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

# Every task is a ``core.jobs.DurableTask``: retries wait in the outbox, not the broker.
app = Celery("xinyidai", task_cls="core.jobs:DurableTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs: name -> task and schedule (seconds or crontab). ``beat_schedule`` is
# read by django-celery-beat's DatabaseScheduler, which syncs it into its tables.
app.conf.beat_schedule = {
    "core-outbox-sweep": {
        "task": "core.tasks.outbox_sweep",
        "schedule": float(os.environ.get("OUTBOX_SWEEP_SECONDS", 30)),
    },
    "accounts-purge-expired-invitations": {
        "task": "accounts.tasks.purge_expired_invitations",
        "schedule": 60 * 60 * 6,
    },
}


@app.task(name="config.ping", ignore_result=False)
def ping(payload: str = "pong") -> dict[str, str]:
    """Round trip used by the health check and the worker test: echoes ``payload``."""
    return {"payload": payload, "hostname": ping.request.hostname or "eager"}
