"""docs/security.md shows the role × permission matrix exactly as the code defines it."""

from pathlib import Path

from mdt_desk.models.enums import Role
from mdt_desk.services.access import ROLE_PERMISSIONS, matrix_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "security.md"


def test_the_document_shows_the_matrix_of_the_code():
    text = DOC.read_text(encoding="utf-8")
    shown = text.split("<!-- role-matrix:start -->")[1].split("<!-- role-matrix:end -->")[0]
    assert shown.strip() == matrix_markdown(), (
        "docs/security.md's role matrix differs from services/access.py: paste "
        "matrix_markdown()'s output between the markers"
    )


def test_every_role_id_is_named_in_the_document():
    text = DOC.read_text(encoding="utf-8")
    for role in Role:
        assert f"`{role.value}`" in text
        assert role in ROLE_PERMISSIONS
