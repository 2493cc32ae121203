"""What the core needs from the outside world, one module per concern; the names most use cases need are here."""

from plugin.ports.imports import (EarlierRun, ImportStore, PasswordHasher, ProgressSink, Replan,  # noqa: F401
                                  StalePlan, StopCheck)
from plugin.ports.jobs import AbandonedRun, JobLog, JobSummary  # noqa: F401
from plugin.ports.mailboxes import (  # noqa: F401
                                  MAIL_JOB_KIND,
                                  BatchCounts,
                                  CapturedCustomers,
                                  Lease,
                                  LeaseLost,
                                  MailboxExists,
                                  MailboxRecord,
                                  MailboxStatus,
                                  MailboxStore,
                                  MailboxTally,
                                  MailSkipRecord,
                                  NewMailbox,
)
from plugin.ports.undo import Notifications, UndoStore, UndoTraits  # noqa: F401
from plugin.ports.unit_of_work import UnitOfWork, WriteConflict  # noqa: F401
