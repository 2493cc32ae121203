"""What the core needs from the outside world, one module per concern; the names most use cases need are here.

Each name loads its module when first asked for (`from plugin.ports import UnitOfWork` loads
plugin.ports.unit_of_work): a command loads the ports it uses, not all of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plugin.ports.imports import (EarlierRun, ImportStore, PasswordHasher, ProgressSink, Replan,  # noqa: F401
                                      StalePlan, StopCheck)
    from plugin.ports.jobs import AbandonedRun, JobLog, JobSummary  # noqa: F401
    from plugin.ports.mailboxes import (MAIL_JOB_KIND, BatchCounts, CapturedCustomers, Lease,  # noqa: F401
                                        LeaseLost, MailboxExists, MailboxRecord, MailboxStatus, MailboxStore,
                                        MailboxTally, MailSkipRecord, NewMailbox)
    from plugin.ports.undo import Notifications, UndoStore, UndoTraits  # noqa: F401
    from plugin.ports.unit_of_work import UnitOfWork, WriteConflict  # noqa: F401

_MODULE_OF = {
    **dict.fromkeys(("EarlierRun", "ImportStore", "PasswordHasher", "ProgressSink", "Replan", "StalePlan",
                     "StopCheck"), "imports"),
    **dict.fromkeys(("AbandonedRun", "JobLog", "JobSummary"), "jobs"),
    **dict.fromkeys(("MAIL_JOB_KIND", "BatchCounts", "CapturedCustomers", "Lease", "LeaseLost", "MailboxExists",
                     "MailboxRecord", "MailboxStatus", "MailboxStore", "MailboxTally", "MailSkipRecord",
                     "NewMailbox"), "mailboxes"),
    **dict.fromkeys(("Notifications", "UndoStore", "UndoTraits"), "undo"),
    **dict.fromkeys(("UnitOfWork", "WriteConflict"), "unit_of_work"),
}


def __getattr__(name: str) -> object:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"plugin.ports.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value
