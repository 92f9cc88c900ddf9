"""Durable events: what happened, written with the change, relayed to jobs after it commits.

An app states what happened (``event_emit("photo.posted", using=alias, photo_id=...)``) inside
the transaction of the change; which jobs react is written once, in settings (``EVENT_JOBS``),
by task name. So an app never imports the apps to its right, a rolled-back transaction sends
nothing, and a committed one sends at least once: right after the commit (``relay``), or from
the worker's sweep of what is still pending (``sweep``).
"""

from instaclone.events.emit import event_emit

__all__ = ["event_emit"]
