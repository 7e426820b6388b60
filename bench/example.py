"""The example network (config.example.yaml) for the benchmarks: its placeholders — the
bot's token, the webhooks' tokens — filled with stand-ins, since nothing here logs in."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.app import parse_config
from bot.config import Config

ROOT = Path(__file__).resolve().parents[1]


def example_config() -> Config:
    raw = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    raw["web"] = {key: value for key, value in raw.get("web", {}).items() if key != "hooks"}
    return parse_config(raw, environ={"SBCC_MATRIX_ACCESS_TOKEN": "syt_benchmark_token"})
