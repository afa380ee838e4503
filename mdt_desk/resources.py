"""The one accessor for files shipped in ``resources/`` (fonts, demo vocabularies).

In a source checkout (and an editable install) they sit in ``resources/`` beside the
package; a wheel carries them inside the package as ``mdt_desk/_resources``.
"""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resources_dir() -> Path:
    for candidate in (_PACKAGE_DIR / "_resources", _PACKAGE_DIR.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("MDT Desk resources are missing: reinstall MDT Desk.")


def resource_path(*parts: str) -> Path:
    """The path of a shipped resource, e.g. ``resource_path("demo", "practices.csv")``."""
    return resources_dir().joinpath(*parts)
