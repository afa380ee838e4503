"""Team-hub sync in the desktop app: the controller, the status-bar label, the dialogs.

- :class:`~mdt_desk.ui.sync.controller.SyncController` owns the sync worker thread
  (separate from the store runner, so a slow hub never holds up the screens).
- :class:`~mdt_desk.ui.sync.status_label.SyncStatusLabel` shows the sync state in words.
- :class:`~mdt_desk.ui.sync.team_hub_dialog.TeamHubDialog` is Settings → Team hub.
- :class:`~mdt_desk.ui.sync.review_dialog.ReviewListDialog` is the "Needs review" list.
"""
