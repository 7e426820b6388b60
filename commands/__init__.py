"""Command declarations, one module per feature: thin — parse (converters), check
(declared), call one service method, render the answer. `load` hands every module's
commands to a registry; a new module is found without being listed anywhere."""

from __future__ import annotations

import importlib
import pkgutil

from bot.framework import Registry


def load(registry: Registry) -> Registry:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        registry.add_module(importlib.import_module(f"{__name__}.{info.name}"))
    return registry
