"""Use cases of MDT Desk: validation, rules and queries. No Qt.

Services take a SQLAlchemy session opened by the caller for one user action
(``Store.read()`` or ``Store.write(actor)``) and return frozen dataclasses.
"""
