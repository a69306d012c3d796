from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.queueing import enqueue
from apps.events import selectors, sync
from apps.events.models import SyncOutcome


class Command(BaseCommand):
    help = "Syncs one source (by name) or all enabled sources, in the foreground or queued with --async."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="the source's name")
        parser.add_argument("--all", action="store_true", help="every enabled source")
        parser.add_argument("--async", dest="queue", action="store_true", help="enqueue on the sync queue instead")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["name"]) == bool(options["all"]):
            raise CommandError("Give a source name or --all.")
        if options["name"]:
            source = selectors.source_by_name(name=options["name"])
            if source is None:
                raise CommandError(f"No source named {options['name']!r}.")
            sources = [source]
        else:
            sources = selectors.sources_enabled()
        if options["queue"]:
            from apps.events.tasks import sync_source  # enqueue only; the worker runs the task

            refused = []
            for source in sources:
                if enqueue(sync_source, source.pk):
                    self.stdout.write(f"Queued {source.name}.")
                else:
                    refused.append(source.name)
            if refused:
                raise CommandError(f"The task queue is unreachable; not queued: {', '.join(refused)}.")
            return
        failed = []
        for source in sources:
            try:
                run = sync.sync_source(source_id=source.pk)
            except sync.SyncAlreadyRunning:
                self.stderr.write(f"{source.name}: a run is already in progress.")
                failed.append(source.name)
                continue
            self.stdout.write(
                f"{source.name}: {run.outcome} - fetched {run.fetched}, created {run.created}, updated {run.updated}, "
                f"unchanged {run.unchanged}, merged {run.merged}, failed {run.failed}, pages {run.pages}"
                + (f"\n  {run.error}" if run.error else "")
            )
            if run.outcome != SyncOutcome.COMPLETED:
                failed.append(source.name)
        if failed:
            raise CommandError(f"Sync did not complete for: {', '.join(failed)}")
