from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from apps.core import backups


class Command(BaseCommand):
    help = (
        "Restores the PostgreSQL database from a backup in BACKUP_BUCKET (pg_restore --clean, in one transaction): "
        "the latest with --latest, or the one named by KEY."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("key", nargs="?", help="the backup's object key, as printed by backup_db")
        which.add_argument("--latest", action="store_true", help="the newest backup of this database")
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive", help="do not ask for confirmation"
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database alias (default: default)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            plan = backups.restore_plan(key=None if options["latest"] else options["key"], alias=options["database"])
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        if options["interactive"]:
            try:
                answer = input(
                    f"You have requested a restore of the {plan.database.name!r} database on {plan.database.host}\n"
                    f"from {plan.source}.\n"
                    "Every table in the backup will be REPLACED by its backed-up rows; changes made since are lost.\n"
                    "Are you sure you want to do this?\n\n"
                    "    Type 'yes' to continue, or 'no' to cancel: "
                )
            except EOFError as exc:  # no terminal, as under `kubectl exec` without -it
                raise CommandError("No answer to the confirmation (stdin is closed): pass --no-input.") from exc
            if answer != "yes":
                self.stdout.write("Restore cancelled.")
                return
        try:
            backups.restore_run(plan=plan)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored {plan.database.name!r} from {plan.source}.")
