"""A UTF-16 file (Excel's "Unicode text") is recognised and the fix is named.

Excel's "Unicode text" is tab-separated UTF-16 with a byte-order mark; other tools
write it without one. Either way the message says to save it as "CSV UTF-8", and
never that the file "contains binary data".
"""

import io
import uuid
from pathlib import Path

import pytest

from mdt_desk.cli import main
from mdt_desk.errors import ImportFileError
from mdt_desk.models.store import Store
from mdt_desk.services.patient_import import import_patients_file
from mdt_desk.services.practices import import_ods_practices
from tests.conftest import TEST_PRACTICES, epraccur_row

PATIENTS = (
    "nhs_number\tfamily_name\tgiven_name\tdate_of_birth\tpractice_code\r\n"
    "9434765919\tÓ Briain\tSeán\t14/07/1945\tA81001\r\n"
    "9990000026\tŁukasiewicz\tZoë\t02/01/1950\tA81001\r\n"
)
#: Excel's "Unicode text" (UTF-16 LE with a BOM), and the same text without a BOM.
ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be")


def _assert_says_utf16(error: str) -> None:
    assert "UTF-16" in error
    assert "Unicode text" in error
    assert "CSV UTF-8" in error
    assert "binary data" not in error


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_utf16_patient_list_is_recognised(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "patients.txt"
    path.write_bytes(PATIENTS.encode(encoding))
    with pytest.raises(ImportFileError) as caught:
        import_patients_file(store, path, actor_label="test import")
    _assert_says_utf16(str(caught.value))


def test_a_large_utf16_patient_list_is_recognised(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    path = tmp_path / "patients.txt"
    rows = PATIENTS.splitlines(keepends=True)
    path.write_bytes((rows[0] + rows[1] * 60_000).encode("utf-16"))
    assert path.stat().st_size > 5_000_000  # read a block at a time, not whole
    with pytest.raises(ImportFileError) as caught:
        import_patients_file(store, path, actor_label="test import")
    _assert_says_utf16(str(caught.value))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_utf16_practice_file_is_recognised(store: Store, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "epraccur.csv"
    text = "\r\n".join(epraccur_row(*practice) for practice in TEST_PRACTICES) + "\r\n"
    path.write_bytes(text.encode(encoding))
    with store.write(actor_label="test") as session, pytest.raises(ImportFileError) as caught:
        import_ods_practices(session, path)
    _assert_says_utf16(str(caught.value))


def test_the_command_line_names_the_fix(tmp_path: Path, capsys) -> None:
    path = tmp_path / "patients.txt"
    path.write_bytes(PATIENTS.encode("utf-16"))
    store = str(tmp_path / "desk.sqlite")
    status = main(["patients", "import", str(path), "--store", store], out=io.StringIO())
    assert status == 2
    _assert_says_utf16(capsys.readouterr().err)


def test_real_binary_data_is_still_called_binary(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01" + bytes(range(256)))
    with pytest.raises(ImportFileError, match="binary data"):
        import_patients_file(store, path, actor_label="test import")


def test_the_same_list_saved_as_csv_utf8_is_imported(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    path = tmp_path / "patients.csv"
    path.write_bytes(PATIENTS.replace("\t", ",").encode("utf-8-sig"))
    report = import_patients_file(store, path, actor_label="test import")
    assert report.imported == 2 and not report.problems
