"""MDT Desk: care coordination for practice-linked multidisciplinary teams."""

__version__ = "0.1.0"
