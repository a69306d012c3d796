from celery import shared_task

from apps.analytics import services


@shared_task(name="apps.analytics.tasks.tracking_partitions_ensure")
def tracking_partitions_ensure() -> list[str]:
    return [month.isoformat() for month in services.tracking_partitions_ensure()]
