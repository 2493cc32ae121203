"""The core imports no web framework, database, IMAP client, password hasher or queue."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import plugin

FORBIDDEN = ("flask", "sqlalchemy", "imapclient", "passlib", "huey", "alembic", "psycopg", "redis")
REPO = Path(__file__).resolve().parents[2]


def core_modules() -> list[str]:
    return sorted(info.name for info in pkgutil.walk_packages(plugin.__path__, prefix="plugin."))


def test_the_core_has_modules_to_check() -> None:
    assert {"plugin.mapping", "plugin.pipeline", "plugin.kinds.customers"} <= set(core_modules())


def test_importing_every_core_module_loads_no_adapter_library() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout)
    offenders = sorted(name for name in loaded if name.split(".")[0] in FORBIDDEN)
    assert offenders == []
    assert "plugin.mapping" in loaded  # the check really imported the core
