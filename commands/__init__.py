"""Command modules. Importing them fills the registry through their decorators."""

from __future__ import annotations

import importlib

from commands.registry import Registry, registry

MODULES = ("help", "ping", "lang", "about", "profile", "consent", "intro", "match", "rounds",
           "collab", "forum", "digest", "relay", "network")


def load_commands() -> Registry:
    for name in MODULES:
        importlib.import_module(f"commands.{name}")
    return registry
