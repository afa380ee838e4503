"""The Indicators tab (Ctrl+4): the measures integrated care is judged by, on screen.

- :mod:`.loading`: what the tab asks the worker thread for (no Qt), as frozen values.
- :mod:`.charts`: the pyqtgraph charts (trend sparklines, practices side by side), each
  with its series in words for screen readers.
- :mod:`.table_models`: the item models of the tab's three tables.
- :mod:`.page`: the tab itself.

Every figure comes from :mod:`mdt_desk.services.indicators`, the one definition the PDF,
the CSV and the command line use too.
"""
