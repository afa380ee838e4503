"""The care plan as UK Core FHIR R4: the export, our own rules on top of the outside
library's structural check, and the import that reads a bundle back into a store.

See docs/interop.md for the resource map and what each check covers.
"""
