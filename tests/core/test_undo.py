"""Deciding an undo: recorded rows + records as they are now → remove, restore, deactivate or leave alone."""

from __future__ import annotations

from plugin.plan import HIDDEN, Action, Change
from plugin.undo import ImportedRow, StoredRecord, UndoAction, UndoTally, changes_from_json, plan_undo_row


def test_a_created_record_nobody_touched_since_is_removed() -> None:
    step = plan_undo_row(ImportedRow(2, Action.CREATED, 11), StoredRecord(11, {"email": "a@example.com"}))
    assert (step.action, step.row, step.record_id) == (UndoAction.REMOVE, 2, 11)


def test_a_created_record_changed_since_is_left_alone_with_who_changed_it() -> None:
    step = plan_undo_row(ImportedRow(2, Action.CREATED, 11), StoredRecord(11, {}, changed_since_by="import 9"))
    assert step.action is UndoAction.SKIP
    assert "import 9" in step.reason


def test_a_created_record_removed_already_is_skipped() -> None:
    assert plan_undo_row(ImportedRow(2, Action.CREATED, 11), None).action is UndoAction.SKIP


def test_an_agent_created_by_the_import_who_signed_in_since_is_deactivated_not_removed() -> None:
    used = StoredRecord(11, {}, changed_since_by="someone, after the import", has_been_used=True)
    assert plan_undo_row(ImportedRow(2, Action.CREATED, 11), used, can_deactivate=True).action is UndoAction.DEACTIVATE
    unused = StoredRecord(11, {})
    assert plan_undo_row(ImportedRow(2, Action.CREATED, 11), unused, can_deactivate=True).action is UndoAction.REMOVE


def test_an_updated_record_gets_every_old_value_back() -> None:
    imported = ImportedRow(3, Action.UPDATED, 5, (
        Change("first_name", "Raj", "Rajesh"), Change("company_id", None, 4),
        Change("labels", ["Trial"], ["Trial", "VIP"]), Change("plan", "gold", "silver")))
    now = StoredRecord(5, {"first_name": "Rajesh", "company_id": 4, "labels": frozenset({"VIP", "Trial"}), "plan": "silver"})
    step = plan_undo_row(imported, now)
    assert step.action is UndoAction.RESTORE
    assert {change.field: change.new for change in step.restores} == {
        "first_name": "Raj", "company_id": None, "labels": frozenset({"Trial"}), "plan": "gold"}
    assert {change.field: change.old for change in step.restores}["first_name"] == "Rajesh"


def test_an_updated_record_whose_field_holds_another_value_now_is_left_alone() -> None:
    imported = ImportedRow(3, Action.UPDATED, 5, (Change("first_name", "Raj", "Rajesh"), Change("phone", None, "+441")))
    step = plan_undo_row(imported, StoredRecord(5, {"first_name": "Rajesh", "phone": "+442"}))
    assert step.action is UndoAction.SKIP
    assert "phone" in step.reason and "+442" in step.reason


def test_labels_added_since_the_import_leave_the_record_alone() -> None:
    imported = ImportedRow(3, Action.UPDATED, 5, (Change("labels", [], ["VIP"]),))
    step = plan_undo_row(imported, StoredRecord(5, {"labels": frozenset({"VIP", "Churned"})}))
    assert step.action is UndoAction.SKIP


def test_an_updated_record_changed_since_by_a_later_import_is_left_alone() -> None:
    imported = ImportedRow(3, Action.UPDATED, 5, (Change("first_name", "Raj", "Rajesh"),))
    step = plan_undo_row(imported, StoredRecord(5, {"first_name": "Rajesh"}, changed_since_by="import 12"))
    assert step.action is UndoAction.SKIP and "import 12" in step.reason


def test_a_password_change_cannot_be_put_back_and_says_so() -> None:
    imported = ImportedRow(3, Action.UPDATED, 5, (Change("password", HIDDEN, HIDDEN), Change("role", "agent", "admin")))
    step = plan_undo_row(imported, StoredRecord(5, {"role": "admin"}), secret_names={"password"}, can_deactivate=True)
    assert step.action is UndoAction.RESTORE
    assert [change.field for change in step.restores] == ["role"]
    assert len(step.notes) == 1 and "password" in step.notes[0]


def test_a_row_that_only_changed_a_password_is_left_alone_with_the_note() -> None:
    imported = ImportedRow(3, Action.UPDATED, 5, (Change("password", HIDDEN, HIDDEN),))
    step = plan_undo_row(imported, StoredRecord(5, {}), secret_names={"password"})
    assert step.action is UndoAction.SKIP and step.notes


def test_changes_read_back_from_their_json_shape() -> None:
    assert changes_from_json([{"field": "labels", "old": [], "new": ["A"]}]) == (Change("labels", [], ["A"]),)


def test_the_tally_counts_each_action() -> None:
    tally = UndoTally()
    tally.count([plan_undo_row(ImportedRow(2, Action.CREATED, 1), StoredRecord(1, {})),
                 plan_undo_row(ImportedRow(3, Action.CREATED, 2), None)])
    assert (tally.removed, tally.skipped, tally.records) == (1, 1, 2)
    assert tally.summary() == "1 removed, 0 restored, 1 left alone"  # deactivated only when an agent was
    tally.deactivated = 2
    assert tally.summary() == "1 removed, 0 restored, 2 deactivated, 1 left alone"


def test_a_move_to_a_company_the_import_created_is_left_alone_saying_the_old_one_is_unknown() -> None:
    imported = ImportedRow(3, Action.UPDATED, 5, (Change("company", None, "NewCo"),))
    step = plan_undo_row(imported, StoredRecord(5, {"company_id": 9}))
    assert step.action is UndoAction.SKIP and "not recorded" in step.reason
