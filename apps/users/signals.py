from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.users import services
from apps.users.models import User


@receiver(post_save, sender=User, dispatch_uid="users.profile_for_new_user")
def create_profile_for_new_user(sender: type[User], instance: User, created: bool, raw: bool = False, **_: Any) -> None:
    # Sign-up, admin, createsuperuser and social log-in all create users; each gets its profile here.
    if created and not raw:
        services.profile_ensure(user=instance)
