"""Seed demo data: one user per role, their organizations and each app's own records.

Each installed app may have a ``seed`` module with ``seed(stdout) -> list[str]`` that
creates its demo records idempotently and returns lines to print; they run in
``INSTALLED_APPS`` order, so an app seeds after the apps it depends on. Running the
command twice changes nothing the second time.
"""

from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import translation
from django.utils.module_loading import module_has_submodule


class Command(BaseCommand):
    help = "Create demo organizations, users (one per role) and content; idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--model-enterprises",
            type=int,
            default=1500,
            help="Synthetic enterprises per vintage for the demo scoring model.",
        )

    def handle(self, *args, **options) -> None:
        lines: list[str] = []
        for app_config in apps.get_app_configs():
            if not module_has_submodule(app_config.module, "seed"):
                continue
            module = import_module(f"{app_config.name}.seed")
            with transaction.atomic(), translation.override("en"):
                lines.extend(
                    module.seed(model_enterprises=options["model_enterprises"])
                )
        for line in lines:
            self.stdout.write(line)
