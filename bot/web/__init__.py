"""The HTTP side of the bot (aiohttp): the app factory and server (`server`), what pages
share (`pages`), and the core's routes, health and metrics. Each feature's routes live in
its own package (`bot/features/<feature>/web.py`) and are added by its `setup`."""
