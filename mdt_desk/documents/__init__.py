"""PDF care plans, agendas, minutes and lists (reportlab). No Qt."""
