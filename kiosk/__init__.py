"""Offline self-checkout kiosk for public libraries."""

__version__ = "0.1.0"
