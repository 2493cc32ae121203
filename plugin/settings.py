"""Settings: defaults from plugin.toml's [settings], overridden by CONTACT_IMPORTER_* variables."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from plugin.phones import is_known_region

ENV_PREFIX = "CONTACT_IMPORTER_"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
MANIFEST = Path(__file__).resolve().parent.parent / "plugin.toml"


class SettingsError(ValueError):
    """A setting's value, or an environment variable with our prefix, is not understood."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of the importer, one typed object built once at startup and passed down."""

    database_url: str = ""
    row_limit: int = 5000
    column_limit: int = 500
    max_file_bytes: int = 20 * 1024 * 1024
    batch_size: int = 5000
    default_labels: tuple[str, ...] = ()
    create_labels: bool = False
    replace_labels: bool = False
    all_or_nothing: bool = False
    password_min_length: int = 6
    invitation_hours: int = 72
    smtp_url: str = ""
    mail_from: str = "helpdesk@localhost"
    public_url: str = ""  # empty: the address served (contact-importer serve), else DEFAULT_PUBLIC_URL
    redis_url: str = ""
    queue_path: str = "instance/queue.db"
    queue_name: str = "contact-importer"  # workers sharing one Redis (or queue file) take only this queue's jobs
    loop_header: str = "X-Contact-Importer-Loop"
    own_addresses: tuple[str, ...] = ()
    mail_poll_seconds: int = 60
    mail_since_days: int = 30
    mail_fetch_batch: int = 500
    secret_key: str = field(default="", repr=False)  # never printed with the settings
    upload_dir: str = "instance/uploads"
    duplicate_upload_minutes: int = 10  # the same file again within this time is asked about first; 0: never
    worker_count: int = 2
    stale_import_minutes: int = 5  # a running import without a heartbeat this long lost its worker: run it again
    default_region: str = "GB"  # phone numbers without a +country prefix are read as this region's
    external_source: str = "crm"  # the system an import's external_id column comes from, unless it names another
    customer_types: tuple[str, ...] = ("personal", "business")  # the account types a customer's type may be
    free_mail_domains: tuple[str, ...] = ()  # besides plugin.companies.FREE_MAIL_DOMAINS: never a company's
    import_side_effects: bool = False  # record_imported hooks per record during imports (welcome mail, automations)
    session_hours: int = 12
    session_idle_minutes: int = 60
    sign_in_failures_per_account: int = 5
    sign_in_failures_per_address: int = 20
    sign_in_lock_minutes: int = 15
    token_days: int = 90
    abandoned_upload_minutes: int = 15
    notify_by_email: bool = False  # mail whoever started an import or undo when it ends, unless they said no
    webhook_url: str = ""  # a signed JSON POST for every finished import, undo and mail-capture poll
    webhook_secret: str = field(default="", repr=False)  # signs the webhook's body (HMAC-SHA256); never printed
    notice_attempts: int = 6  # tries of one notice (webhook or e-mail) before it is given up
    notice_retry_seconds: int = 60  # wait after a failed try: this, then doubled each time
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, with the embedded default: instance/contacts.db in the working folder."""
        return self.database_url or "sqlite:///instance/contacts.db"

    def absolute_link(self, path: str) -> str:
        """A link a person can click in a mail: the public URL, then the path."""
        return (self.public_url or DEFAULT_PUBLIC_URL).rstrip("/") + "/" + path.lstrip("/")

    def replace(self, **changes: object) -> Settings:
        """A copy with some settings changed (per-run command options)."""
        known = {name: value for name, value in changes.items() if value is not None}
        return dataclasses.replace(self, **known)


def read_manifest_defaults(manifest: Path = MANIFEST) -> dict[str, object]:
    """The [settings] table of plugin.toml."""
    with manifest.open("rb") as handle:
        return dict(tomllib.load(handle).get("settings", {}))


def _convert(name: str, raw: str, like: object) -> object:
    """Turn an environment variable's text into the type of the setting's default."""
    if isinstance(like, bool):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be true or false, not {raw!r}")
    if isinstance(like, int):
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be a whole number, not {raw!r}") from None
    if isinstance(like, (list, tuple)):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def load_settings(
    defaults: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build Settings from manifest defaults and CONTACT_IMPORTER_* overrides; unknown names are errors."""
    values = dict(read_manifest_defaults() if defaults is None else defaults)
    known = {f.name for f in dataclasses.fields(Settings)} - {"extra"}
    unknown_defaults = set(values) - known
    if unknown_defaults:
        raise SettingsError(f"plugin.toml declares settings this version does not know: {sorted(unknown_defaults)}")
    for variable, raw in (environ or {}).items():
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :].lower()
        if name not in known:
            raise SettingsError(f"{variable} is not a setting; known settings: {', '.join(sorted(known))}")
        like = values.get(name, getattr(Settings(), name))
        values[name] = _convert(name, raw, like)
    for name, value in list(values.items()):
        if isinstance(value, list):
            values[name] = tuple(value)
    if "default_region" in values:
        region = str(values["default_region"]).strip().upper()
        if not is_known_region(region):
            raise SettingsError(f"default_region must be a two-letter region such as GB, US or DE, not {values['default_region']!r}")
        values["default_region"] = region
    if "free_mail_domains" in values:
        given = cast("Iterable[object]", values["free_mail_domains"])  # a list in TOML, a tuple from code
        values["free_mail_domains"] = tuple(str(domain).strip().lower() for domain in given)
    if "customer_types" in values:
        given = cast("Iterable[object]", values["customer_types"])
        values["customer_types"] = tuple(dict.fromkeys(str(name).strip() for name in given if str(name).strip()))
        if not values["customer_types"]:
            raise SettingsError("customer_types needs at least one account type, e.g. personal, business")
    if values.get("webhook_url") and not values.get("webhook_secret"):
        raise SettingsError("webhook_url needs webhook_secret: the webhook's body is signed with it "
                            "(set CONTACT_IMPORTER_WEBHOOK_SECRET)")
    if int(values.get("notice_attempts", 1)) < 1:  # type: ignore[call-overload]
        raise SettingsError("notice_attempts must be 1 or more")
    return Settings(**values)  # type: ignore[arg-type]
