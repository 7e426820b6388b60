"""sbcc-bot: the Matrix bot and bridge of the South Baltic Creative Clusters network."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sbcc-bot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
