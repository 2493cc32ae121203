"""What the core needs from the outside world, one module per concern.

The names every import needs are here; the others are imported from their own module (plugin.ports.mailboxes,
plugin.ports.unit_of_work, plugin.ports.undo...), so a command loads the ports it uses, not all of them."""

from plugin.ports.imports import (EarlierRun, ImportStore, PasswordHasher, ProgressSink, Replan,  # noqa: F401
                                  StalePlan, StopCheck)
from plugin.ports.jobs import AbandonedRun, JobLog, JobSummary  # noqa: F401
