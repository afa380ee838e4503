"""The case record: one person and their case, opened in a tab of the main window."""
