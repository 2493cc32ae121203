"""Settings: plugin.toml's defaults, overridden by CONTACT_IMPORTER_* variables; mistakes are loud."""

from __future__ import annotations

import pytest

from plugin.settings import Settings, SettingsError, load_settings, read_manifest_defaults


def test_the_manifest_defaults_load_into_settings() -> None:
    settings = load_settings(environ={})
    assert settings == Settings(**{name: tuple(value) if isinstance(value, list) else value
                                   for name, value in read_manifest_defaults().items()})
    assert (settings.row_limit, settings.batch_size, settings.create_labels) == (5000, 5000, False)
    assert settings.resolved_database_url == "sqlite:///instance/contacts.db"


def test_every_setting_of_the_manifest_is_a_known_setting() -> None:
    assert set(read_manifest_defaults()) <= set(Settings.__dataclass_fields__)


@pytest.mark.parametrize(
    ("variable", "raw", "name", "value"),
    [
        ("CONTACT_IMPORTER_ROW_LIMIT", "20000", "row_limit", 20000),
        ("CONTACT_IMPORTER_ROW_LIMIT", "1_000_000", "row_limit", 1_000_000),
        ("CONTACT_IMPORTER_CREATE_LABELS", "true", "create_labels", True),
        ("CONTACT_IMPORTER_CREATE_LABELS", "YES", "create_labels", True),
        ("CONTACT_IMPORTER_REPLACE_LABELS", "0", "replace_labels", False),
        ("CONTACT_IMPORTER_ALL_OR_NOTHING", "on", "all_or_nothing", True),
        ("CONTACT_IMPORTER_DEFAULT_LABELS", "Imported, Newsletter", "default_labels", ("Imported", "Newsletter")),
        ("CONTACT_IMPORTER_DATABASE_URL", "sqlite:////tmp/x.db", "database_url", "sqlite:////tmp/x.db"),
    ],
)
def test_an_environment_variable_overrides_its_setting(variable: str, raw: str, name: str, value: object) -> None:
    assert getattr(load_settings(environ={variable: raw}), name) == value


def test_variables_without_our_prefix_are_not_ours_to_judge() -> None:
    assert load_settings(environ={"ROW_LIMIT": "nonsense", "PATH": "/bin"}).row_limit == 5000


def test_an_unknown_variable_with_our_prefix_is_an_error() -> None:
    with pytest.raises(SettingsError, match="CONTACT_IMPORTER_ROW_LIMT is not a setting; known settings: .*row_limit"):
        load_settings(environ={"CONTACT_IMPORTER_ROW_LIMT": "10"})


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("CONTACT_IMPORTER_ROW_LIMIT", "lots", "CONTACT_IMPORTER_ROW_LIMIT must be a whole number, not 'lots'"),
        ("CONTACT_IMPORTER_ROW_LIMIT", "5000.5", "CONTACT_IMPORTER_ROW_LIMIT must be a whole number, not '5000.5'"),
        ("CONTACT_IMPORTER_CREATE_LABELS", "sometimes",
         "CONTACT_IMPORTER_CREATE_LABELS must be true or false, not 'sometimes'"),
        ("CONTACT_IMPORTER_ALL_OR_NOTHING", "2", "CONTACT_IMPORTER_ALL_OR_NOTHING must be true or false, not '2'"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_clear_error(variable: str, raw: str, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(environ={variable: raw})
    assert str(error.value) == message


def test_an_unknown_setting_in_the_manifest_is_an_error() -> None:
    with pytest.raises(SettingsError, match="does not know: \\['colour'\\]"):
        load_settings(defaults={"colour": "blue"}, environ={})


def test_per_run_options_replace_settings_only_when_given() -> None:
    settings = load_settings(environ={}).replace(row_limit=10, create_labels=None)
    assert (settings.row_limit, settings.create_labels) == (10, False)
