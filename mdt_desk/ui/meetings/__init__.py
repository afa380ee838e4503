"""The Meetings tab: scheduling and the agenda builder (meeting mode is its own window)."""
