from celery import shared_task

from apps.users import services


@shared_task(name="apps.users.tasks.flush_expired_refresh_tokens")
def flush_expired_refresh_tokens() -> int:
    return services.refresh_tokens_flush_expired()
