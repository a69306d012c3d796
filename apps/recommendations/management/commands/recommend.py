import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.core.time import weekend_window
from apps.recommendations import rankers, services
from apps.recommendations.api.serializers import RecommendationListOut
from apps.recommendations.api.views import list_data
from apps.users import selectors as user_selectors
from apps.users.models import User


class Command(BaseCommand):
    help = (
        "Prints a person's recommendations for a weekend, as GET /api/v1/recommendations ranks them (an operator's "
        "look: impressions are not tracked). With --json the last line is exactly the API's body."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--ranker", help="Force a ranker by name (as staff may through the API).")
        parser.add_argument("--weekend", choices=["this", "next"], default="this")
        parser.add_argument("--limit", type=int, default=services.DEFAULT_LIMIT)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"]).first()
        if user is None:
            raise CommandError(f"No account with the email {options['email']!r}.")
        if options["ranker"] and options["ranker"] not in rankers.names():
            raise CommandError(f"Unknown ranker {options['ranker']!r}; known: {', '.join(rankers.names())}.")
        if not 1 <= options["limit"] <= services.MAX_LIMIT:
            raise CommandError(f"--limit takes 1 to {services.MAX_LIMIT}.")
        tz = user_selectors.profile_for(user=user).timezone
        now = timezone.now()
        start, end = weekend_window(options["weekend"], tz, now=now)
        served = services.recommendations_serve(
            user=user,
            start=start,
            end=end,
            tz=tz,
            limit=options["limit"],
            ranker=options["ranker"],
            track=False,
            now=now,
        )
        body = RecommendationListOut(list_data(served)).data
        if options["json"]:
            self.stdout.write(json.dumps(body, separators=(",", ":")))
            return
        version = f", model {served.model_version}" if served.model_version else ""
        count = len(served.results)
        self.stdout.write(f"{count} event{'' if count == 1 else 's'} for {user.email} by {served.ranker}{version}:")
        for item in served.results:
            self.stdout.write(f"{item.rank:>3}. {item.event.title} ({item.score:.3f}): {'; '.join(item.reasons)}")
