"""The README documents every command and every setting, and every command explains itself."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest

from adapters.cli import cli
from plugin.settings import ENV_PREFIX, read_manifest_defaults
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def command_paths(group: click.Group, prefix: str = "contact-importer") -> Iterator[tuple[str, click.Command]]:
    context = click.Context(group)
    for name in group.list_commands(context):  # the group's commands load when asked for (adapters/cli)
        command = group.get_command(context, name)
        assert command is not None
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from command_paths(command, path)


COMMANDS = list(command_paths(cli))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_every_command_has_help_and_is_in_the_readme(path: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"{path} has no help text"
    assert path in README, f"{path} is not in README.md"


@pytest.mark.parametrize("name", sorted(read_manifest_defaults()))
def test_every_setting_is_in_the_readme_with_its_variable(name: str) -> None:
    assert f"`{name}`" in README, f"setting {name} is not in README.md"
    assert f"{ENV_PREFIX}{name.upper()}" in README, f"{ENV_PREFIX}{name.upper()} is not in README.md"


def test_readme_opens_with_the_run_and_test_commands() -> None:
    first_block = README.split("```", 2)[1]
    assert "make run" in first_block and "make test" in first_block


def test_every_import_option_is_in_the_readme() -> None:
    from plugin.hooks import BuiltinKinds
    from plugin.options import all_options

    for option, _ in all_options(tuple(BuiltinKinds().register_import_kinds())).values():
        assert re.search(rf"`--(no-)?{option.cli_flag[2:]}\b", README), f"{option.cli_flag} is not in README.md"


def test_the_readme_lists_the_headers_each_field_takes_as_the_declarations_do() -> None:
    from plugin.hooks import BuiltinKinds
    from plugin.template import alias_lines

    for kind in BuiltinKinds().register_import_kinds():
        listed = f"  {kind.name}:\n" + "\n".join(f"    {line}" for line in alias_lines(kind))
        assert listed in README, f"README.md does not list the headers of {kind.name} as plugin/kinds declares them"


def test_the_readme_names_every_field_an_import_may_clear() -> None:
    from plugin.kinds.customers import CUSTOMERS

    paragraph = README.split("`--clear-empty FIELD`", 1)[1].split(";\n", 1)[0]
    for spec in CUSTOMERS.fields:
        assert (f"`{spec.name}`" in paragraph) is spec.can_be_cleared, spec.name
