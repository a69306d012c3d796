"""gunicorn config file: each worker leaves a mark once it has loaded the application.

gunicorn answers as soon as one worker is up, while the others may still be importing Django; a measurement that
starts then measures the boot. scripts.support.gunicorn waits for one mark per worker (GUNICORN_READY_DIR/<pid>).
"""

import os
from pathlib import Path
from typing import Any


def post_worker_init(worker: Any) -> None:
    ready_dir = os.environ.get("GUNICORN_READY_DIR")
    if ready_dir:
        (Path(ready_dir) / str(os.getpid())).touch()
