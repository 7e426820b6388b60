"""The bot's features, one package each: its config section, its services, its listeners,
its jobs and start-up catch-ups, its web routes and how its messages read, wired by the
`setup(wiring)` of the `FEATURE` it exports (see `bot.feature`). Its commands are declared
in `commands/<feature>.py`. The network's own feature lives in the top-level `rooms/`."""
