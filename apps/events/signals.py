"""What the catalogue tells the apps above it. They connect in their AppConfig.ready()."""

from django.dispatch import Signal

# Sent during and after a sync run with the ids of the events it created or changed (moved, re-placed,
# cancelled), once their pages are committed: in batches of about ten thousand ids as the run goes
# (apps.events.sync.ANNOUNCE_BATCH), then the rest at its end, so a long run never holds them all.
# Keyword argument: event_ids (list[int]).
events_changed = Signal()

# Sent once a sync run has ended and its outcome is committed (completed, interrupted or failed).
# Keyword argument: run (SyncRun), with its counts.
sync_finished = Signal()
