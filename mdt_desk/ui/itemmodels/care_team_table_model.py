"""The care team of a case: who, profession, organisation, role and dates."""

from typing import ClassVar

from mdt_desk.services.case_view import CareTeamMemberView
from mdt_desk.ui.itemmodels.record_list_table_model import Column, RecordListTableModel


class CareTeamTableModel(RecordListTableModel[CareTeamMemberView]):
    """Current members first, then those who have left."""

    columns: ClassVar = (
        Column[CareTeamMemberView]("Name", lambda m: m.name),
        Column[CareTeamMemberView]("Profession", lambda m: m.profession_text),
        Column[CareTeamMemberView]("Organisation", lambda m: m.organisation),
        Column[CareTeamMemberView]("Role", lambda m: m.role),
        Column[CareTeamMemberView]("Contact", lambda m: m.contact),
        Column[CareTeamMemberView]("Joined", lambda m: m.joined_text),
        Column[CareTeamMemberView]("Left", lambda m: m.left_text or "Still in the team"),
    )
