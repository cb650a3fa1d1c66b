"""What views read from the app: the settings it was created with."""

from __future__ import annotations

from flask import current_app

from config import Settings

SETTINGS_EXTENSION = "onec_sync_settings"


def settings() -> Settings:
    found: Settings = current_app.extensions[SETTINGS_EXTENSION]
    return found
