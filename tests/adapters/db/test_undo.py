"""Undoing imports against real databases, on SQLite and on PostgreSQL: created records go, updated ones get
their old values back, records changed since are left alone and reported, and an import is undone once."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Engine, select, update

from adapters.bootstrap import bootstrap
from adapters.db.accounts import authenticate
from adapters.db.invitations import accept_invitation, create_invitation
from adapters.db.agents import agents
from adapters.db.catalog import utc_now
from tests.catalog import add_company, add_custom_field, add_labels
from adapters.db.export import export_customers
from adapters.db.models import contact_labels, contacts, import_jobs, import_rows
from adapters.db.notifications import list_notifications
from adapters.passwords import Argon2Hasher
from plugin.kinds import FieldType
from plugin.report import Status
from plugin.services import Services
from plugin.services.undo import Actor
from plugin.settings import Settings
from plugin.undo import NotPermitted, UndoRefused, UndoResult
from tests.conftest import FAST_HASHES


def run(services: Services, kind: str, csv_text: str, *, actor: str = "tester", **options: object):
    return services.imports.import_file(kind, io.BytesIO(csv_text.encode()), file_name="test.csv", actor=actor,
                                **options)  # type: ignore[arg-type]


ADMIN = Actor("admin@example.com", "admin")


def undo_import(services: Services, job_id: int, *, actor: Actor = ADMIN, dry_run: bool = False) -> UndoResult:
    return services.undo.undo(job_id, actor, dry_run=dry_run)


def customers(engine: Engine) -> dict[str, dict[str, object]]:
    headers, rows = export_customers(engine)
    return {str(row[1]).lower(): dict(zip(headers, row, strict=True)) for row in rows}


def test_undo_removes_created_customers_and_restores_updated_ones(services: Services, engine: Engine) -> None:
    add_labels(engine, ["Trial", "VIP"])
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    acme, globex = add_company(engine, "Acme"), add_company(engine, "Globex")
    run(services, "customers", "email,first_name,middle_name,last_name,phone,company_id,labels,plan\n"
                               f"raj@example.org,Raj,,Patel,+442079460958,{acme},Trial,gold\n"
                               "lee@example.org,Lee,,,,,,\n")
    before = customers(engine)
    many = "".join(f"new{number}@example.com,New{number},,,,,VIP,\n" for number in range(20))  # crosses batches of 7
    report = run(services, "customers", "email,first_name,middle_name,last_name,phone,company_id,labels,plan\n"
                                        f"raj@example.org,Rajesh,Kumar,Patel,+442079460000,{globex},VIP,silver\n" + many)
    assert (report.created, report.updated) == (20, 1)
    result = undo_import(services, report.job)
    assert (result.tally.removed, result.tally.restored, result.tally.skipped) == (20, 1, 0)
    assert customers(engine) == before  # names, middle name, phone, company, labels, plan: all as they were


def test_a_customer_changed_since_the_import_is_left_alone_and_reported(services: Services, engine: Engine) -> None:
    run(services, "customers", "email,first_name\nraj@example.org,Raj\nlee@example.org,Lee\n")
    report = run(services, "customers", "email,first_name\nraj@example.org,Rajesh\nlee@example.org,Leo\n"
                                        "new@example.com,New\n")
    later = run(services, "customers", "email,first_name\nraj@example.org,Rajiv\nnew@example.com,Newer\n")
    result = undo_import(services, report.job)
    by_row = {step.row: step for step in result.steps}
    assert [str(by_row[row].action) for row in (2, 3, 4)] == ["skip", "restore", "skip"]
    assert f"import {later.job}" in by_row[2].reason and f"import {later.job}" in by_row[4].reason
    now = customers(engine)
    assert (now["raj@example.org"]["first_name"], now["lee@example.org"]["first_name"]) == ("Rajiv", "Lee")
    assert now["new@example.com"]["first_name"] == "Newer"
    with engine.connect() as connection:
        job = connection.execute(select(import_jobs).where(import_jobs.c.id == result.undo_job)).one()
        rows = {row.row: row for row in connection.execute(select(import_rows)
                                                           .where(import_rows.c.job_id == job.id))}
    assert (job.status, job.options, job.kind) == (str(Status.PARTIAL), {"undo_of": report.job}, "customers")
    assert rows[2].action == "skip" and f"import {later.job}" in rows[2].errors[0]["message"]
    assert rows[3].changes == [{"field": "first_name", "old": "Leo", "new": "Lee"}]


def test_a_value_changed_outside_imports_leaves_the_customer_alone(services: Services, engine: Engine) -> None:
    run(services, "customers", "email,first_name,phone\nraj@example.org,Raj,\n")
    report = run(services, "customers", "email,first_name,phone\nraj@example.org,Rajesh,+442079460958\n")
    with engine.begin() as connection:  # a person edits the phone in the helpdesk, without touching updated_at
        connection.execute(update(contacts).values(phone="+442079460000"))
    result = undo_import(services, report.job)
    assert str(result.steps[0].action) == "skip" and "phone" in result.steps[0].reason
    assert customers(engine)["raj@example.org"]["first_name"] == "Rajesh"


def test_a_dry_run_says_what_would_happen_and_changes_nothing(services: Services, engine: Engine) -> None:
    report = run(services, "customers", "email,first_name\na@example.com,A\nb@example.com,B\n")
    before = customers(engine)
    result = undo_import(services, report.job, dry_run=True)
    assert (result.tally.removed, result.undo_job) == (2, None)
    assert customers(engine) == before
    assert undo_import(services, report.job).tally.removed == 2  # a dry run does not count as the undo
    assert customers(engine) == {}


def test_an_import_is_never_undone_twice_and_an_undo_is_not_undone(services: Services, engine: Engine) -> None:
    report = run(services, "customers", "email,first_name\na@example.com,A\n")
    result = undo_import(services, report.job)
    with pytest.raises(UndoRefused) as twice:
        undo_import(services, report.job)
    assert twice.value.code == "undo.already" and str(result.undo_job) in twice.value.message
    with pytest.raises(UndoRefused) as undo_of_undo:
        undo_import(services, result.undo_job)  # type: ignore[arg-type]
    assert undo_of_undo.value.code == "undo.is_undo"
    dry = run(services, "customers", "email,first_name\nb@example.com,B\n", dry_run=True)
    with pytest.raises(UndoRefused) as not_applied:
        undo_import(services, dry.job)
    assert not_applied.value.code == "undo.not_applied"
    with pytest.raises(UndoRefused):
        undo_import(services, 999)


@pytest.fixture
def agent_services(settings: Settings, engine: Engine) -> Services:
    return bootstrap(settings, engine=engine, hasher=Argon2Hasher(**FAST_HASHES))


def stored_agents(engine: Engine) -> dict[str, object]:
    with engine.connect() as connection:
        return {row.email_key: row for row in connection.execute(select(agents)).all()}


def test_undoing_an_agents_import(agent_services: Services, engine: Engine) -> None:
    hasher = Argon2Hasher(**FAST_HASHES)
    run(agent_services, "users", "email,first_name,role,password\nold@example.com,Olga,agent,first-secret\n")
    report = run(agent_services, "users", "email,first_name,role,password\n"
                                          "old@example.com,Olga2,admin,second-secret\n"
                                          "unused@example.com,Una,agent,secret-one\n"
                                          "signed@example.com,Sig,agent,secret-two\n"
                                          "invited@example.com,Ivy,agent,\n")
    assert (report.created, report.updated) == (3, 1)
    assert authenticate(engine, hasher, "signed@example.com", "secret-two") is not None
    invited = stored_agents(engine)["invited@example.com"]
    accept_invitation(engine, hasher, create_invitation(engine, invited.id).token, "chosen-pass")  # type: ignore[attr-defined]
    result = undo_import(agent_services, report.job)
    steps = {step.row: step for step in result.steps}
    assert [str(steps[row].action) for row in (2, 3, 4, 5)] == ["restore", "remove", "deactivate", "deactivate"]
    assert any("password" in note for note in steps[2].notes)
    now = stored_agents(engine)
    assert "unused@example.com" not in now
    assert (now["signed@example.com"].is_active, now["invited@example.com"].is_active) == (False, False)
    assert (now["old@example.com"].first_name, now["old@example.com"].role) == ("Olga", "agent")
    assert authenticate(engine, hasher, "old@example.com", "second-secret") is not None  # a hash we do not keep


def test_only_created_and_updated_rows_are_undone_and_unchanged_ones_stay(services: Services, engine: Engine) -> None:
    run(services, "customers", "email,first_name\nsame@example.com,Same\n")
    report = run(services, "customers", "email,first_name\nsame@example.com,Same\nbad,X\nnew@example.com,New\n")
    assert (report.unchanged, report.failed, report.created) == (1, 1, 1)
    result = undo_import(services, report.job)
    assert [step.row for step in result.steps] == [4]
    assert set(customers(engine)) == {"same@example.com"}


def test_changed_since_uses_the_moment_the_import_finished(services: Services, engine: Engine) -> None:
    report = run(services, "customers", "email,first_name\nnew@example.com,New\n")
    with engine.begin() as connection:  # written after the import by something that is not an import
        connection.execute(update(contacts).values(updated_at=utc_now()))
    assert str(undo_import(services, report.job, dry_run=True).steps[0].action) == "skip"


def test_rows_a_later_import_left_unchanged_do_not_block_the_undo(services: Services, engine: Engine) -> None:
    run(services, "customers", "email,first_name\nraj@example.org,Raj\n")
    changing = "email,first_name\nraj@example.org,Rajesh\nnew@example.com,New\n"
    report = run(services, "customers", changing)
    again = run(services, "customers", changing)  # the same file once more: every row unchanged
    assert (again.unchanged, again.created, again.updated) == (2, 0, 0)
    result = undo_import(services, report.job)
    assert (result.tally.removed, result.tally.restored, result.tally.skipped) == (1, 1, 0), result.steps
    assert {email: row["first_name"] for email, row in customers(engine).items()} == {"raj@example.org": "Raj"}


def test_agents_a_later_import_left_unchanged_do_not_block_the_undo(agent_services: Services, engine: Engine) -> None:
    changing = "email,first_name,role\nnew.agent@example.com,New,agent\n"
    report = run(agent_services, "users", changing)
    again = run(agent_services, "users", changing)
    assert again.unchanged == 1
    result = undo_import(agent_services, report.job)
    assert (result.tally.removed, result.tally.skipped) == (1, 0), result.steps
    assert "new.agent@example.com" not in stored_agents(engine)


def test_a_later_import_that_did_change_the_record_still_blocks_the_undo(services: Services, engine: Engine) -> None:
    report = run(services, "customers", "email,first_name\nnew@example.com,New\n")
    run(services, "customers", "email,first_name\nnew@example.com,New\n")  # unchanged
    later = run(services, "customers", "email,first_name\nnew@example.com,Newer\n")  # changed
    result = undo_import(services, report.job)
    assert str(result.steps[0].action) == "skip" and f"import {later.job}" in result.steps[0].reason


def test_a_skip_reason_shows_values_as_people_read_them(services: Services, engine: Engine) -> None:
    add_labels(engine, ["Demo", "Trial"])
    run(services, "customers", "email,first_name,labels\nraj@example.org,Raj,\n")
    report = run(services, "customers", "email,first_name,labels\nraj@example.org,Raj,Demo:Trial\n")
    with engine.begin() as connection:  # a person removes the labels in the helpdesk, without touching updated_at
        connection.execute(contact_labels.delete())
    result = undo_import(services, report.job)
    assert result.steps[0].reason == "Left alone: labels was changed since the import (Demo, Trial → (empty))."
    assert "frozenset" not in result.steps[0].describe()


def test_an_undo_is_recorded_as_an_undo_with_its_own_counts_and_notifies(services: Services, engine: Engine) -> None:
    run(services, "customers", "email,first_name\nraj@example.org,Raj\nlee@example.org,Lee\n", actor="sam@example.com")
    report = run(services, "customers", "email,first_name\nraj@example.org,Rajesh\nlee@example.org,Leo\n"
                                        "new@example.com,New\n", actor="sam@example.com")
    run(services, "customers", "email,first_name\nlee@example.org,Leon\n")
    result = undo_import(services, report.job)
    job = services.history.get_job(result.undo_job)  # type: ignore[arg-type]
    assert job is not None and (job.operation, job.is_undo, job.actor) == ("undo", True, ADMIN.name)
    assert (job.undone.removed, job.undone.restored, job.undone.skipped) == (1, 1, 1)
    assert job.undo_summary == f"Undid import {report.job}: 1 removed, 1 restored, 1 left alone"
    assert services.history.get_job(report.job).operation == "import"  # type: ignore[union-attr]
    for person in (ADMIN.name, "sam@example.com"):  # who undid it, and whose import it was
        notices = list_notifications(engine, person)
        assert [(notice.message, notice.job_id) for notice in notices] == [(job.undo_summary, job.id)]


def test_a_dry_run_of_an_undo_writes_no_job_and_no_notification(services: Services, engine: Engine) -> None:
    report = run(services, "customers", "email,first_name\nnew@example.com,New\n")
    undo_import(services, report.job, dry_run=True)
    assert [job.id for job in services.history.list_jobs()] == [report.job]
    assert list_notifications(engine, ADMIN.name) == []


SUPPORT = Actor("sam@example.com", "support_admin")
OTHER_SUPPORT = Actor("kim@example.com", "support_admin")


def test_a_support_admin_undoes_their_own_import_but_not_another_persons(services: Services, engine: Engine) -> None:
    theirs = run(services, "customers", "email,first_name\na@example.com,A\n", actor=SUPPORT.name)
    others = run(services, "customers", "email,first_name\nb@example.com,B\n", actor=OTHER_SUPPORT.name)
    for dry_run in (True, False):
        with pytest.raises(NotPermitted) as refused:
            undo_import(services, others.job, actor=SUPPORT, dry_run=dry_run)
        assert refused.value.code == "undo.not_yours" and "needs the admin role" in refused.value.message
    assert services.undo.refusal(others.job, SUPPORT) is not None
    assert set(customers(engine)) == {"a@example.com", "b@example.com"}
    assert undo_import(services, theirs.job, actor=SUPPORT).tally.removed == 1
    done = undo_import(services, others.job)  # an admin may undo anybody's
    assert done.tally.removed == 1 and services.history.get_job(done.undo_job).actor == ADMIN.name  # type: ignore[arg-type,union-attr]
    assert customers(engine) == {}


def test_a_support_admin_retries_their_own_import_but_not_another_persons(services: Services, engine: Engine) -> None:
    others = run(services, "customers", "email,first_name\nok@example.com,Ok\nbad@,Bad\n", actor=OTHER_SUPPORT.name)
    fixed = error_report(services, others.job).replace("bad@,", "bad@example.com,")
    with pytest.raises(NotPermitted) as refused:
        services.undo.retry(others.job, SUPPORT, io.BytesIO(fixed.encode()), file_name="fixed.csv")
    assert refused.value.code == "retry.not_yours"
    with pytest.raises(NotPermitted):
        services.undo.retry_request(others.job, SUPPORT, io.BytesIO(fixed.encode()))
    assert "bad@example.com" not in customers(engine)
    retried = services.undo.retry(others.job, OTHER_SUPPORT, io.BytesIO(fixed.encode()), file_name="fixed.csv")
    assert retried.created == 1 and services.history.get_job(retried.job).actor == OTHER_SUPPORT.name  # type: ignore[arg-type,union-attr]
    mine = run(services, "customers", "email,first_name\nfine@example.com,Ok\nworse@,W\n", actor=SUPPORT.name)
    fixed = error_report(services, mine.job).replace("worse@,", "worse@example.com,")
    assert services.undo.retry(mine.job, SUPPORT, io.BytesIO(fixed.encode()), file_name="fixed.csv").created == 1


def test_an_admin_retries_anybodys_import_and_is_recorded_as_its_actor(services: Services, engine: Engine) -> None:
    others = run(services, "customers", "email,first_name\nok@example.com,Ok\nbad@,Bad\n", actor=SUPPORT.name)
    fixed = error_report(services, others.job).replace("bad@,", "bad@example.com,")
    retried = services.undo.retry(others.job, ADMIN, io.BytesIO(fixed.encode()), file_name="fixed.csv")
    job = services.history.get_job(retried.job)  # type: ignore[arg-type]
    assert retried.created == 1 and job is not None and (job.actor, job.options["retry_of"]) == (ADMIN.name, others.job)


# ---- retrying the failed rows


def error_report(services: Services, job_id: int) -> str:
    return "".join(services.history.error_report(job_id))


def retry(services: Services, job_id: int, text: str):
    from plugin.retry import retry_arguments

    job = services.history.get_job(job_id)
    with services.store.engine.connect() as connection:  # type: ignore[attr-defined]
        options = connection.execute(select(import_jobs.c.options)
                                     .where(import_jobs.c.id == job_id)).scalar_one()
    return services.imports.import_file(source=io.BytesIO(text.encode()), file_name="fixed.csv", actor="tester",
                                **retry_arguments(job_id, job.kind, job.mapping, options))  # type: ignore[arg-type]


def test_a_fixed_error_report_imports_its_rows_under_the_original_row_numbers(services: Services, engine: Engine) -> None:
    add_labels(engine, ["VIP"])
    report = run(services, "customers", "E-mail,First,Tags\nok@example.com,Ok,VIP\nbad@,Bad,VIP\n"
                                        "nolabel@example.com,Nol,Gold\nfine@example.com,Fine,\n")
    assert [error.row for error in report.errors] == [3, 4]
    fixed = error_report(services, report.job).replace("bad@,", "bad@example.com,").replace(",Gold,", ",VIP,")
    again = retry(services, report.job, fixed)
    assert (again.status, again.created, again.failed) == (Status.SUCCEEDED, 2, 0)
    with engine.connect() as connection:
        rows = dict(connection.execute(select(import_rows.c.row, import_rows.c.action)
                                       .where(import_rows.c.job_id == again.job)).all())
        options = connection.execute(select(import_jobs.c.options)
                                     .where(import_jobs.c.id == again.job)).scalar_one()
    assert rows == {3: "created", 4: "created"} and options["retry_of"] == report.job
    assert customers(engine)["nolabel@example.com"]["labels"] == "VIP"
    refused = retry(services, report.job, fixed)  # applied by the retry: no longer failed rows of the import
    assert (refused.status, refused.error_code) == (Status.REJECTED, "retry.not_failed")


def test_a_retry_with_a_row_that_did_not_fail_is_refused_and_writes_nothing(services: Services, engine: Engine) -> None:
    report = run(services, "customers", "email,first_name\nok@example.com,Ok\nbad@,Bad\n")
    report_text = error_report(services, report.job) + "sneaky@example.com,Sneak,2,email,x\r\n"
    refused = retry(services, report.job, report_text)
    assert (refused.status, refused.error_code) == (Status.REJECTED, "retry.not_failed")
    assert "Row 2" in refused.message
    assert set(customers(engine)) == {"ok@example.com"}


def test_rows_still_failing_in_a_retry_are_reported_under_their_numbers_and_retried_again(
        services: Services, engine: Engine) -> None:
    report = run(services, "customers", "email,first_name\nok@example.com,Ok\nbad@,Bad\nworse@,Worse\n")
    first = retry(services, report.job, error_report(services, report.job).replace("bad@,", "bad@example.com,"))
    assert (first.created, first.failed, [error.row for error in first.errors]) == (1, 1, [4])
    second = retry(services, first.job, error_report(services, first.job).replace("worse@,", "worse@example.com,"))
    assert (second.created, second.failed) == (1, 0)
    assert set(customers(engine)) == {"ok@example.com", "bad@example.com", "worse@example.com"}


def test_a_retried_agent_row_never_takes_the_hidden_marker_as_its_password(
        agent_services: Services, engine: Engine) -> None:
    report = run(agent_services, "users", "email,first_name,password\nbad@,Ann,Secret-Pass-1\n")
    assert [error.row for error in report.errors] == [2]
    # the error report writes "(hidden)" where the password was; the admin fixes only the email
    fixed = "email,first_name,password,row,column,message\r\nann@example.com,Ann,(hidden),2,email,x\r\n"
    again = retry(agent_services, report.job, fixed)
    assert [(error.row, error.column, error.code) for error in again.errors] == [(2, "password", "password.hidden")]
    assert "ann@example.com" not in stored_agents(engine)


def test_only_an_applied_import_can_be_retried(services: Services, engine: Engine) -> None:
    preview = run(services, "customers", "email,first_name\nok@example.com,Ok\nbad@,Bad\n", dry_run=True)
    fixed = error_report(services, preview.job).replace("bad@,", "bad@example.com,")
    refused = retry(services, preview.job, fixed)
    assert (refused.status, refused.error_code) == (Status.REJECTED, "retry.not_applied")
    assert f"Import {preview.job} is dry-run" in refused.message
    assert customers(engine) == {}


def test_a_retry_cut_short_resumes_without_refusing_its_own_rows(settings: Settings, engine: Engine) -> None:
    from plugin.errors import ImportStopped
    from plugin.retry import retry_arguments

    services = bootstrap(settings.replace(batch_size=2), engine=engine)
    report = run(services, "customers", "email,first_name\n" + "".join(f"bad{n}@,N{n}\n" for n in range(5)))
    assert report.failed == 5
    fixed = error_report(services, report.job).replace("@,", "@example.com,")
    job = services.history.get_job(report.job)
    arguments = retry_arguments(report.job, job.kind, job.mapping, dict(job.options))
    asked = [0]

    def stop_before_the_second_batch() -> bool:
        asked[0] += 1
        return asked[0] == 2

    with pytest.raises(ImportStopped) as stopped:
        services.imports.import_file(source=io.BytesIO(fixed.encode()), should_stop=stop_before_the_second_batch,
                             **arguments)  # type: ignore[arg-type]
    resumed = services.imports.import_file(source=io.BytesIO(fixed.encode()), job_id=stopped.value.job_id,
                                   **arguments)  # type: ignore[arg-type]
    assert (resumed.status, resumed.created, resumed.failed) == (Status.SUCCEEDED, 5, 0)
    assert len(customers(engine)) == 5


def test_a_retry_is_asked_the_same_way_as_its_import(services: Services, engine: Engine) -> None:
    report = run(services, "customers", "email,first_name,last_name\nok@example.com,Ok,\nbad@,Bad,\n",
                 defaults={"last_name": "Unknown"})
    again = retry(services, report.job, error_report(services, report.job).replace("bad@,", "bad@example.com,"))
    assert again.created == 1
    assert customers(engine)["bad@example.com"]["last_name"] == "Unknown"


def test_undos_recorded_before_the_operation_column_become_undos_with_their_counts(database_url: str) -> None:
    from alembic import command

    from adapters.db.engine import alembic_config, make_engine, upgrade_database

    engine = make_engine(database_url)
    try:
        command.upgrade(alembic_config(engine), "0007_upload_file_hash")
        moment = utc_now()
        with engine.begin() as connection:
            jobs = sa_table(connection, "import_jobs")
            for job_id, options in ((1, {}), (2, {"undo_of": 1})):
                connection.execute(jobs.insert().values(
                    id=job_id, kind="customers", status="succeeded", is_dry_run=False, actor="a", file_name="f",
                    options=options, headers=[], mapping=[], total=3, rows_done=3, created=0, updated=0, unchanged=0,
                    failed=0, message="", error_code="", created_at=moment))
            rows = sa_table(connection, "import_rows")
            connection.execute(rows.insert(), [{"job_id": 2, "row": row, "action": action, "record_id": row}
                                               for row, action in ((2, "remove"), (3, "remove"), (4, "skip"))])
        upgrade_database(engine)
        with engine.connect() as connection:
            found = {row.id: row for row in connection.execute(select(import_jobs))}
        assert (found[1].operation, found[1].removed) == ("import", 0)
        assert (found[2].operation, found[2].removed, found[2].restored, found[2].left_alone) == ("undo", 2, 0, 1)
    finally:
        engine.dispose()


def sa_table(connection, name: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import MetaData, Table

    return Table(name, MetaData(), autoload_with=connection)
