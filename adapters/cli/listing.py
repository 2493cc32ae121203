"""The commands a module declares, read from its source without running it: `contact-importer --help` lists
every command with its help but loads none of their modules (nor Flask, huey, SQLAlchemy behind them)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the folder holding the adapters package


@dataclass(frozen=True, slots=True)
class ListedCommand:
    module: str
    name: str
    help: str | None  # the function's docstring as written, which click makes the command's help


def listed_commands(module: str) -> dict[str, ListedCommand] | None:
    """The commands the module's COMMANDS tuple names, by name, each made by a plain `@click.command("name")` or
    `@click.group("name")` on a function; None when the source says anything else, and the module is loaded."""
    path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError):
        return None
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    names = _commands_tuple(tree)
    if names is None:
        return None
    listed: dict[str, ListedCommand] = {}
    for function_name in names:
        function = functions.get(function_name)
        name = None if function is None else _command_name(function)
        if function is None or name is None:
            return None
        listed[name] = ListedCommand(module, name, ast.get_docstring(function, clean=False))
    return listed


def _commands_tuple(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "COMMANDS" and isinstance(node.value, (ast.Tuple, ast.List))):
            names = [element.id for element in node.value.elts if isinstance(element, ast.Name)]
            return names if len(names) == len(node.value.elts) else None
    return None


_HELP_NEUTRAL = frozenset({"invoke_without_command", "no_args_is_help", "chain", "context_settings"})


def _command_name(function: ast.FunctionDef) -> str | None:
    """"name" of `@click.command("name")` or `@click.group("name")`, with no other argument that changes what
    --help shows (hidden=, help=, short_help=, cls=...); invoke_without_command= and the like do not."""
    for decorator in function.decorator_list:
        if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                and isinstance(decorator.func.value, ast.Name) and decorator.func.value.id == "click"
                and decorator.func.attr in ("command", "group")):
            if (len(decorator.args) == 1 and isinstance(decorator.args[0], ast.Constant)
                    and isinstance(decorator.args[0].value, str)
                    and all(keyword.arg in _HELP_NEUTRAL for keyword in decorator.keywords)):
                return decorator.args[0].value
            return None
    return None
