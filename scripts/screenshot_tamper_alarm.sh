#!/usr/bin/env bash
# docs/screenshots/tamper-alarm.png, made the way it happens: desk A and desk B share a
# SQLite hub, someone rewrites a sign-in time in the hub's log behind MDT Desk's back,
# `hub verify` names the break, and desk B's next sync sets the record aside and shows the
# alarm in its status bar. Usage: bash scripts/screenshot_tamper_alarm.sh (no display).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export QT_QPA_PLATFORM=offscreen MDT_DESK_STORE_PASSPHRASE=screenshot-only
mdt="$here/.venv/bin/mdt-desk"
hub="sqlite:///$work/hub.sqlite"
"$mdt" demo --patients 300 --store "$work/a.sqlite" >/dev/null
"$mdt" hub init "$hub" >/dev/null
chair="$("$mdt" --store "$work/a.sqlite" staff list | awk '/Emma Nowak/ {print $2}')"
echo 246810 | "$mdt" --store "$work/a.sqlite" sync --as "$chair" --pin-stdin --hub "$hub" >/dev/null
echo 246810 | "$mdt" --store "$work/b.sqlite" sync --as "$chair" --pin-stdin --hub "$hub" >/dev/null
# Desk A signs in again (a small transaction of its own) and sends it.
echo 246810 | "$mdt" --store "$work/a.sqlite" sync --as "$chair" --pin-stdin >/dev/null
"$here/.venv/bin/python" - "$work/hub.sqlite" <<'PY'
import sqlite3, sys
hub = sqlite3.connect(sys.argv[1])
(seq,) = hub.execute(
    "SELECT max(server_seq) FROM hub_change WHERE entity = 'access_event' AND field = 'at'"
).fetchone()
hub.execute("UPDATE hub_change SET value = '\"2026-12-01 03:12:00\"' WHERE server_seq = ?", (seq,))
hub.commit()
PY
"$mdt" hub verify "$hub" || true
echo 246810 | "$mdt" --store "$work/b.sqlite" sync --as "$chair" --pin-stdin || true
"$here/.venv/bin/python" "$here/scripts/shot_status_bar.py" "$work/b.sqlite" \
  "$here/docs/screenshots/tamper-alarm.png"
