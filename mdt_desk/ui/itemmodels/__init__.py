"""Qt item models (QAbstractTableModel and friends) for the desk's lists."""
