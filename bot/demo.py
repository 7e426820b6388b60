"""`sbcc-bot demo`: a complete local set-up with nothing configured.

Starts a Synapse from the installed `matrix-synapse` package on 127.0.0.1, registers the bot
and a coordinator by shared secret, writes a config (with the network of config.example.yaml
and the web side on a free port), provisions the Space and its rooms, opens a room with the
coordinator and the bot, prints how to log in from any Matrix client, and runs the bot.
Everything lives in the data directory, so a second start reuses the same server, accounts
and room.

With `--sample [N]` the network is filled once (after provisioning, before the bot runs)
with N invented members (`bot.sample`; not registered on the homeserver) and what they did,
and the coordinator gets a profile that meets theirs, so `!match`, `!find`, `!collab list`,
`!forums`, the showcase, the calendar feed and the digest all have something to show.
"""

from __future__ import annotations

import importlib.util
import json
import secrets
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bot.app import load_config
from bot.config import Config
from bot.db import Database
from bot.homeserver import EmbeddedSynapse, free_port
from bot.runner import provision, run_bot
from bot.sample import fill, starter_profile

DEMO_FILE = "demo.json"


def demo_state(data_dir: Path) -> dict[str, Any]:
    """The demo's passwords and room, created once in `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / DEMO_FILE
    if path.exists():
        return json.loads(path.read_text())
    state = {
        "bot_password": secrets.token_urlsafe(18),
        "coordinator_password": secrets.token_urlsafe(9),
        "room_id": None,
        "web_port": free_port(),
    }
    path.write_text(json.dumps(state, indent=2))
    path.chmod(0o600)
    return state


async def _ensure_room(base_url: str, token: str, bot_id: str, state: dict[str, Any],
                       data_dir: Path) -> str:
    """A room of the coordinator's with the bot in it (created once), end-to-end encrypted
    as Element creates private rooms."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        if state.get("room_id"):
            return str(state["room_id"])
        body = {"name": "sbcc-bot demo", "preset": "private_chat", "invite": [bot_id],
                "topic": "Talk to sbcc-bot here: try !help",
                "initial_state": [{"type": "m.room.encryption", "state_key": "",
                                   "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]}
        async with http.post(f"{base_url}/_matrix/client/v3/createRoom", json=body) as resp:
            data = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"could not create the demo room: {data.get('error')}")
    state["room_id"] = data["room_id"]
    (data_dir / DEMO_FILE).write_text(json.dumps(state, indent=2))
    return str(data["room_id"])


EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.yaml"
# what the demo takes over from the example config: the real network and its settings
EXAMPLE_SECTIONS = ("network", "tags", "matchmaking", "forums", "digest")


def example_sections() -> dict[str, Any]:
    """The network of config.example.yaml (from a source checkout), if there is one."""
    if not EXAMPLE.exists():
        return {}
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")) or {}
    return {key: example[key] for key in EXAMPLE_SECTIONS if key in example}


def write_config(path: Path, base_url: str, bot_id: str, password: str, db_path: Path,
                 coordinator: str, web_port: int) -> None:
    config = {
        "matrix": {"homeserver": base_url, "user_id": bot_id, "password": password,
                   "device_id": "SBCCDEMO"},
        "database": {"url": f"sqlite+aiosqlite:///{db_path.resolve()}"},
        "command_prefix": "!",
        "default_language": "en",
        "coordinators": [coordinator],
        **example_sections(),
        "web": {"listen": f"127.0.0.1:{web_port}",
                "public_url": f"http://127.0.0.1:{web_port}"},
    }
    path.write_text("# written by `sbcc-bot demo`\n" + yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


async def fill_sample(config: Config, members: int, coordinator: str) -> None:
    """The sample network in the demo's database (once: a second start finds it there)."""
    db = Database(config.database.url, schema=config.database.schema)
    try:
        await db.migrate()
        sample = await fill(db, config, members=members)
        profiled = await starter_profile(db, config, coordinator, sample)
    finally:
        await db.close()
    if sample.filled:
        c = sample.counts
        print(f"  Sample network: {sample.members} members, {c.get('collaborations', 0)} "
              f"collaborations, {c.get('forum_events', 0)} events"
              + (" (and a profile for you: try !match)" if profiled else ""), flush=True)
    else:
        print("  Sample network: already there", flush=True)


async def run_demo(data_dir: Path, state: dict[str, Any], sample: int | None = None) -> int:
    if importlib.util.find_spec("synapse") is None:
        print("sbcc-bot demo needs the matrix-synapse package: pip install matrix-synapse")
        return 1
    async with EmbeddedSynapse(data_dir / "synapse") as hs:
        bot = await hs.register("sbcc", state["bot_password"], displayname="SBCC bot")
        coord = await hs.register("coordinator", state["coordinator_password"], admin=True,
                                  displayname="Coordinator")
        room_id = await _ensure_room(hs.base_url, coord.access_token, bot.user_id, state,
                                     data_dir)
        config_path = data_dir / "config.yaml"
        web_port = state.setdefault("web_port", free_port())
        write_config(config_path, hs.base_url, bot.user_id, state["bot_password"],
                     data_dir / "sbcc.db", coord.user_id, web_port)
        config = load_config(config_path)
        if config.network.configured:
            print("  Provisioning the network's Space and rooms:", flush=True)
            await provision(config)
            if sample:
                await fill_sample(config, sample, coord.user_id)
        print(
            "\n  sbcc-bot demo is running.\n"
            f"  Homeserver:  {hs.base_url}\n"
            f"  Log in as:   {coord.user_id}  password: {state['coordinator_password']}\n"
            f"  Room:        {room_id} (\"sbcc-bot demo\"; try !help)\n"
            f"  Web side:    http://127.0.0.1:{web_port}/showcase  /calendar.ics  /advice  "
            "/healthz\n"
            f"  Config:      {config_path}\n"
            "  Stop with Ctrl-C.\n",
            flush=True,
        )
        return await run_bot(config)
