"""Send the outbox jobs still pending (what the beat job does), e.g. after an outage."""

from django.core.management.base import BaseCommand

from core import jobs


class Command(BaseCommand):
    help = "Send the background jobs still waiting in the outbox."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--grace",
            type=float,
            default=None,
            help="Only jobs written at least this many seconds ago (default: the setting).",
        )

    def handle(self, *args, grace: float | None, **options) -> None:
        sent = jobs.outbox_sweep(grace_seconds=grace)
        self.stdout.write(f"{sent} outbox job(s) sent")
