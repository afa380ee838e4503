"""Offline sync with the team hub (built on the change journal; see docs/architecture.md)."""
