"""Settings → Team: the team administrator's screens."""
