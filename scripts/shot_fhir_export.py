"""Screenshot of File → Export → FHIR care plan… open over a demo record at 1280×800,
and the purpose question it asks first (offscreen; menus composited onto the window)."""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QCoreApplication, QPoint, QSettings
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMenu

from mdt_desk.app import create_main_window
from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo
from scripts.shot_indicators import settle
from scripts.take_screenshots import OUT, busiest_case, sign_in
from tests import store_sql


def composite(window, popups, name):
    pixmap = window.grab()
    painter = QPainter(pixmap)
    for popup in popups:
        painter.drawPixmap(window.mapFromGlobal(popup.pos()), popup.grab())
    painter.end()
    pixmap.save(str(OUT / name))
    print("wrote", OUT / name, pixmap.width(), pixmap.height())


def main():
    store_path = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if store_path is None:
        store_path = Path(tempfile.mkdtemp()) / "demo.sqlite"
        with Store.open(store_path) as store:
            generate_demo(store, patients=600, seed=1)
    with store_sql.connect(store_path, read_only=True) as db:
        patient_id, case_id = busiest_case(db)
    app = QApplication(sys.argv)
    QCoreApplication.setOrganizationName("MDT Desk screenshots")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    window = create_main_window(store_path)
    window.resize(1280, 800)
    window.show()
    settle(app, window)
    sign_in(app, window)
    window.open_record(patient_id, case_id)
    settle(app, window)
    file_menu: QMenu = window.menus[0]
    bar = window.menuBar()
    file_menu.popup(bar.mapToGlobal(bar.actionGeometry(file_menu.menuAction()).bottomLeft()))
    settle(app, window)
    export_item = window.export_menu.menuAction()
    file_menu.setActiveAction(export_item)
    rect = file_menu.actionGeometry(export_item)
    window.export_menu.popup(file_menu.mapToGlobal(QPoint(rect.right() - 2, rect.top() - 1)))
    window.export_menu.setActiveAction(window.export_action)
    settle(app, window)
    print("enabled:", window.export_action.isEnabled())
    composite(window, [file_menu, window.export_menu], "fhir-export-menu.png")
    window.export_menu.close()
    file_menu.close()
    settle(app, window)
    window.export_action.trigger()
    settle(app, window)
    prompt = next(w for w in app.topLevelWidgets() if isinstance(w, QInputDialog) and w.isVisible())
    field = prompt.findChild(QLineEdit, "purpose_edit")
    assert field is not None, "the purpose prompt has no purpose_edit field"
    field.setText("Sharing with the regional shared care record")
    settle(app, window)
    # centre the prompt over the window, as a window manager would
    prompt.move(window.mapToGlobal(window.rect().center()) - prompt.rect().center())
    settle(app, window)
    composite(window, [prompt], "fhir-export-purpose.png")
    prompt.reject()
    settle(app, window)
    window.close()
    settle(app, window)


if __name__ == "__main__":
    main()
