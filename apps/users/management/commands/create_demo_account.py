import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.users import services
from apps.users.models import User

DEMO_EMAIL = "demo@weekendplanner.test"


class Command(BaseCommand):
    help = "Creates the demo account (outside production) and prints its email and password."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("The demo account is for local use only; refusing under DJANGO_ENV=production.")
        password_file = settings.VAR_DIR / "demo-password.txt"
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None or not password_file.exists():
            password = secrets.token_urlsafe(12)
            if user is None:
                services.user_create(email=DEMO_EMAIL, password=password, display_name="Demo", timezone="Europe/Berlin")
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password)
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        self.stdout.write(f"Demo account: {DEMO_EMAIL}  password: {password}")
