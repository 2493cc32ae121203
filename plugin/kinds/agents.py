"""The agents (internal users) import: email is the key, with names, password, active flag, username, role, teams.

Passwords are checked here (`password.too_short`, `password.too_long`) and hashed by `hashing_preparer`
through the PasswordHasher port just before a batch is written: the plain text never reaches the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from plugin.emails import email_key
from plugin.kinds import Catalog, CellProblem, Field, ImportKind, unknown_names
from plugin.kinds.declared_options import NOT_MAILED, Option, OptionType
from plugin.pipeline import PrepareBatch
from plugin.plan import HIDDEN, PlannedRow
from plugin.ports import PasswordHasher, ProgressSink
from plugin.usernames import free_username, parse_username
from plugin.usernames import username_from_email as _username_from_email
from plugin.validate import ACTIVE_ALIASES, parse_active, parse_email, parse_name, split_names

ROLES = ("admin", "support_admin", "agent")
DEFAULT_ROLE = "agent"
DEFAULT_PASSWORD_MIN_LENGTH = 6
PASSWORD_MAX_BYTES = 4096  # libpass refuses longer secrets

CREATE_TEAMS = Option("create_teams", OptionType.FLAG, "Create teams that do not exist yet",
                      "Create unknown teams instead of failing the row.", fixes=("teams.unknown",))
REPLACE_TEAMS = Option("replace_teams", OptionType.FLAG, "Replace an agent's teams instead of adding to them",
                       "On update, replace teams instead of adding to them.")
INVITATIONS = Option("invitations", OptionType.FLAG, "Mail invitations to new agents without a password",
                     "Mail set-password invitations to the new agents without a password (when smtp_url is set).",
                     needs_setting="smtp_url", without_setting=NOT_MAILED)


@dataclass(slots=True)
class AgentCatalog(Catalog):
    """The catalog of an agents import: teams (in Catalog) plus who holds which username.

    `check_agent` claims usernames here as it goes, so a later row of the same file cannot take one again.
    """

    usernames: dict[str, str] = field(default_factory=dict)  # username → email key of its agent
    agent_usernames: dict[str, str] = field(default_factory=dict)  # email key → username, for stored agents


def _parse_password(text: str) -> str:
    """Exactly as typed: spaces are part of a password. Never the "(hidden)" an error report writes in its
    place, which a fixed report uploaded as a retry (or as a new import) would otherwise set as the password."""
    if text == HIDDEN:
        raise CellProblem("password.hidden", "The error report hides passwords: type the password again, or leave "
                                             "the cell empty to send an invitation.")
    return text


def _parse_role(text: str) -> str:
    role = "_".join(text.strip().lower().replace("-", " ").split())
    if role not in ROLES:
        raise CellProblem("role.invalid", f"{text.strip()!r} is not a role; use one of {', '.join(ROLES)}.")
    return role


def _parse_teams(text: str) -> tuple[str, ...]:
    return split_names(text, what="team")


def username_from_email(email: str) -> str:
    """'Jane.Doe+help@example.com' → 'jane.doe' (plugin.usernames' rule; 'agent' when nothing is left)."""
    return _username_from_email(email, fallback="agent")


def _free_username(base: str, catalog: AgentCatalog, key: str) -> str:
    return free_username(base, lambda candidate: catalog.usernames.get(candidate, key) != key)


def password_problems(values: dict[str, object], options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """The password rule (length in characters and bytes), for an imported row and a set-password page alike."""
    password = values.get("password")
    if not isinstance(password, str):
        return []
    minimum = int(options.get("password_min_length", DEFAULT_PASSWORD_MIN_LENGTH))  # type: ignore[call-overload]
    if len(password) < minimum:
        return [("password", "password.too_short", f"This password is shorter than {minimum} characters; choose a longer one.")]
    if len(password.encode("utf-8")) > PASSWORD_MAX_BYTES:
        return [("password", "password.too_long", f"This password is longer than {PASSWORD_MAX_BYTES} bytes; choose a shorter one.")]
    return []


def _check_teams(values: dict[str, object], catalog: Catalog, options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    names = values.pop("teams", ()) or ()
    problems = unknown_names(names, catalog.teams, field="teams", what="team", create=CREATE_TEAMS,  # type: ignore[arg-type]
                             options=options)
    if names:
        values["teams"] = frozenset(names)  # type: ignore[arg-type]
    return problems


def _check_username(values: dict[str, object], catalog: Catalog) -> list[tuple[str, str, str]]:
    if not isinstance(catalog, AgentCatalog) or not isinstance(values.get("email"), str):
        return []
    key = email_key(str(values["email"]))
    username = values.get("username")
    if username is None:
        if key in catalog.agent_usernames:
            return []  # a stored agent keeps the username it has
        username = _free_username(username_from_email(key), catalog, key)
        values["username"] = username
    elif catalog.usernames.get(str(username), key) != key:
        return [("username", "username.taken", f"The username {username!r} already belongs to another agent; choose another or leave the cell empty.")]
    catalog.usernames[str(username)] = key
    catalog.agent_usernames.setdefault(key, str(username))
    return []


def check_agent(values: dict[str, object], catalog: Catalog, options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """Password length, teams against the catalog, and a unique username (generated from the email when absent)."""
    problems = password_problems(values, options) + _check_teams(values, catalog, options)
    return problems + _check_username(values, catalog)


def hashing_preparer(hasher: PasswordHasher, progress: ProgressSink | None = None) -> PrepareBatch:
    """The agents' last step before writing: hash the batch's passwords in one hash_many call (all cores).

    Each planned row's plain `password` value becomes `password_hash`. `progress`, when given, hears
    (rows of this batch prepared so far, rows in the batch) while the hashes are made.
    """

    def prepare(planned: Sequence[PlannedRow]) -> Sequence[PlannedRow]:
        positions = [index for index, row in enumerate(planned) if isinstance(row.values.get("password"), str)]
        without_password = len(planned) - len(positions)
        done = 0

        def on_progress(hashed: int) -> None:
            nonlocal done
            done += hashed
            if progress is not None:
                progress(without_password + done, len(planned))

        hashes = hasher.hash_many([str(planned[index].values["password"]) for index in positions],
                                  on_progress=on_progress) if positions else []
        prepared = list(planned)
        for index, password_hash in zip(positions, hashes, strict=True):
            values = {name: value for name, value in planned[index].values.items() if name != "password"}
            values["password_hash"] = password_hash
            prepared[index] = replace(planned[index], values=values)
        return prepared

    return prepare


AGENTS = ImportKind(
    name="users",
    title="agents",
    key="email",
    fields=(
        Field("email", parse=parse_email, is_required_column=True,
              aliases=("email address", "e-mail", "e-mail address", "mail", "primary email", "work email",
                       "business email", "login", "login email"),
              examples=("jane.doe@example.com", "raj.patel@example.com"),
              description="The agent's address; a matching address (any case) updates the agent."),
        Field("first_name", parse=parse_name, is_required_for_new=True,
              aliases=("firstname", "first", "first name", "given name", "given", "forename", "fname"),
              examples=("Jane", "Raj"), description="Required when the row creates an agent."),
        Field("last_name", parse=parse_name,
              aliases=("lastname", "last", "surname", "family name", "family", "lname"),
              examples=("Doe", "Patel")),
        Field("password", parse=_parse_password, is_secret=True,
              aliases=("pass", "passwd", "pwd", "initial password", "new password"),
              examples=("change-me-now", ""),
              description="At least password_min_length characters (setting, 6 by default), hashed on import. "
                          "Empty: a new agent gets an invitation, an existing one keeps the password."),
        Field("active", parse=parse_active, is_repetitive=True,
              aliases=ACTIVE_ALIASES,
              examples=("true", "no"), description="true/false, yes/no, y/n or 1/0; a new agent is active by default."),
        Field("username", parse=parse_username,
              aliases=("user name", "login name", "user", "handle"),
              examples=("jane", ""), description="Unique; generated from the email when empty."),
        Field("role", parse=_parse_role, is_repetitive=True,
              aliases=("roles", "user role", "access"),
              examples=("support_admin", ""), description="admin, support_admin or agent (the default)."),
        Field("teams", parse=_parse_teams, is_repetitive=True, is_name_list=True,
              aliases=("team", "groups", "group", "team names"),
              examples=("Billing:Tier 1", ""),
              description="Exact, case-sensitive team names separated by ':'."),
    ),
    description="People who work in the helpdesk: they can sign in and answer tickets.",
    check_record=check_agent,
    options=(CREATE_TEAMS, REPLACE_TEAMS, INVITATIONS),
)
