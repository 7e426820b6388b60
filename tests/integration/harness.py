"""Real parts for integration tests: a member's Matrix client and the bot as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml
from nio import Api, AsyncClient, AsyncClientConfig, RoomCreateResponse, RoomSendResponse

ROOT = Path(__file__).resolve().parents[2]
# a member's client sees every event of a burst (the default timeline limit is 10)
MEMBER_FILTER = {"room": {"timeline": {"limit": 1000}}}


class Member:
    """A person in an ordinary Matrix client: syncs in the background, records events."""

    def __init__(self, base_url: str, user_id: str, access_token: str, device_id: str,
                 store_path: Path | None = None) -> None:
        """`store_path`: an encrypting client (as Element is), its keys kept there."""
        config = AsyncClientConfig(encryption_enabled=store_path is not None,
                                   store_sync_tokens=False)
        self.client = AsyncClient(base_url, user_id, device_id=device_id, config=config,
                                  store_path=str(store_path or ""))
        if store_path is not None:
            store_path.mkdir(parents=True, exist_ok=True)
            self.client.restore_login(user_id, device_id, access_token)
        self.client.access_token = access_token
        self.user_id = user_id
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._since: str | None = None
        self._seen: set[str] = set()
        self.invites: list[str] = []  # rooms this member was invited to, in order
        self._invites_taken = 0
        self.gaps = 0  # limited timelines after a room was first seen: events were skipped
        self._rooms: set[str] = set()

    async def start(self) -> None:
        await self._keys()
        resp = await self.client.sync(timeout=0, sync_filter=MEMBER_FILTER)
        self._since = resp.next_batch
        await self._keys()
        self._task = asyncio.create_task(self._loop())

    async def _keys(self) -> None:
        """What an encrypting client does around each /sync (nio leaves it to us)."""
        client = self.client
        if client.olm is None:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def _loop(self) -> None:
        while True:
            resp = await self.client.sync(timeout=5000, since=self._since,
                                          sync_filter=MEMBER_FILTER)
            if not hasattr(resp, "next_batch"):
                await asyncio.sleep(0.5)
                continue
            self._since = resp.next_batch
            await self._keys()
            fresh = []
            for room_id in resp.rooms.invite:
                if room_id not in self.invites:
                    self.invites.append(room_id)
                    fresh.append({"type": "sbcc.test.invite", "room_id": room_id})
            for room_id, room in resp.rooms.join.items():
                self.gaps += room.timeline.limited and room_id in self._rooms
                self._rooms.add(room_id)
                for ev in room.timeline.events:
                    event_id = ev.source.get("event_id")
                    if event_id in self._seen:
                        continue  # a re-joined room's timeline repeats what we saw
                    self._seen.add(event_id)
                    # decrypted events come as their plaintext; `_decrypted` says so
                    fresh.append({**ev.source, "room_id": room_id,
                                  "_decrypted": bool(getattr(ev, "decrypted", False))})
            if fresh:
                async with self._changed:
                    self.events.extend(fresh)
                    self._changed.notify_all()

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()

    async def create_room(self, invite: list[str], name: str = "test room",
                          **kwargs: Any) -> str:
        resp = await self.client.room_create(name=name, invite=invite, **kwargs)
        assert isinstance(resp, RoomCreateResponse), resp
        return resp.room_id

    async def join(self, room_id: str) -> None:
        resp = await self.client.join(room_id)
        assert hasattr(resp, "room_id"), resp

    async def say(self, room_id: str, text: str) -> str:
        return await self.send(room_id, "m.room.message", {"msgtype": "m.text", "body": text})

    async def send(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Send an event (encrypted in an encrypted room, as the member's client would)."""
        if self.client.olm is not None:
            deadline = time.monotonic() + 30
            while room_id not in self.client.rooms:  # an encrypting client must know it
                assert time.monotonic() < deadline, f"{room_id} never synced"
                await asyncio.sleep(0.05)
        resp = await self.client.room_send(room_id, event_type, content,
                                           ignore_unverified_devices=True)
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def send_state(self, room_id: str, event: dict[str, Any]) -> None:
        resp = await self.client.room_put_state(room_id, event["type"], event["content"],
                                                event.get("state_key", ""))
        assert hasattr(resp, "event_id"), resp

    async def say_without_key(self, room_id: str, text: str
                              ) -> tuple[str, Callable[[], Awaitable[None]]]:
        """Send `text` encrypted with a fresh room key whose delivery to the other devices
        is held back (as when a client's to-device message is late); `release()` delivers
        it. Returns the message's event id and `release`."""
        client = self.client
        olm = client.olm
        assert olm is not None
        room = client.rooms[room_id]
        if not room.members_synced:
            await client.joined_members(room_id)
        if client.should_query_keys:
            await client.keys_query()
        olm.outbound_group_sessions.pop(room_id, None)  # a new session for this message
        missing = client.get_missing_sessions(room_id)
        if missing:
            await client.keys_claim(missing)
        held = [body for _users, body in olm.share_group_session_parallel(
            room_id, list(room.users), ignore_unverified_devices=True)]
        olm.outbound_group_sessions[room_id].shared = True
        event_id = await self.say(room_id, text)

        async def release() -> None:
            for body in held:
                method, path, data = Api.to_device(client.access_token, "m.room.encrypted",
                                                   body, uuid.uuid4().hex)
                resp = await client.send(method, path, data,
                                         headers={"Content-Type": "application/json"})
                assert resp.status == 200, await resp.text()

        return event_id, release

    async def react_encrypted(self, room_id: str, event_id: str, key: str) -> str:
        """A reaction encrypted as Element sends it (nio itself sends reactions in the
        clear): the relation stays readable, the rest is ciphertext."""
        client = self.client
        assert client.olm is not None
        if not client.rooms[room_id].members_synced:
            await client.joined_members(room_id)
        if client.should_query_keys:
            await client.keys_query()
        if client.olm.should_share_group_session(room_id):
            await client.share_group_session(room_id, ignore_unverified_devices=True)
        relation = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        etype, content = client.encrypt(room_id, "m.reaction", {"m.relates_to": relation})
        method, path, data = Api.room_send(client.access_token, room_id, etype, content,
                                           uuid.uuid4().hex)
        resp = await client.send(method, path, data,
                                 headers={"Content-Type": "application/json"})
        body = await resp.json()
        assert resp.status == 200, body
        return str(body["event_id"])

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], count: int = 1,
                       timeout: float = 30.0) -> list[dict[str, Any]]:
        """Until `count` recorded events match; returns them (raises TimeoutError)."""
        async def matched() -> list[dict[str, Any]]:
            async with self._changed:
                while True:
                    hits = [e for e in self.events if predicate(e)]
                    if len(hits) >= count:
                        return hits
                    await self._changed.wait()
        return await asyncio.wait_for(matched(), timeout)

    async def wait_invite(self, timeout: float = 30.0) -> str:
        """The next invite not yet returned by an earlier call."""
        taken = self._invites_taken
        await self.wait_for(lambda e: e.get("type") == "sbcc.test.invite", count=taken + 1,
                            timeout=timeout)
        self._invites_taken += 1
        return self.invites[taken]

    def replies_to(self, event_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if reply_target(e) == event_id]

    async def ask(self, room_id: str, text: str, timeout: float = 30.0) -> dict[str, Any]:
        """Send a command and return the bot's reply to it."""
        event_id = await self.say(room_id, text)
        [reply] = await self.wait_for(lambda e: reply_target(e) == event_id, timeout=timeout)
        return reply

    async def settle(self, room_id: str, timeout: float = 30.0) -> None:
        """A sentinel: once the bot answers this command, it has handled everything sent to
        `room_id` before it (it handles a room's events in order), and whatever it sent
        before the answer has reached this client (the homeserver delivers in order). So
        "nothing else happened" is shown without a fixed sleep."""
        await self.ask(room_id, f"!ping sentinel-{uuid.uuid4().hex[:8]}", timeout=timeout)


def reply_target(event: dict[str, Any]) -> str | None:
    relates = (event.get("content") or {}).get("m.relates_to") or {}
    return (relates.get("m.in_reply_to") or {}).get("event_id")


def is_joined(user_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: (e.get("type") == "m.room.member" and e.get("state_key") == user_id
                      and e["content"].get("membership") == "join")


READY = "; listening"  # "caught up with the homeserver; listening", or resuming


class BotProcess:
    """`python -m bot run --config …` as a child process, as a coordinator would run it."""

    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        self.workdir = workdir
        self.config_path = workdir / "config.yaml"
        self.log_path = workdir / "bot.log"
        self.config_path.write_text(yaml.safe_dump(config))
        self.proc: asyncio.subprocess.Process | None = None
        self._log_offset = 0

    async def start(self, ready_timeout: float = 60.0, ready: str = READY) -> None:
        """Start the process and wait until it logs `ready`: by default that it syncs and
        listens (not the web side's "listening on"); a standby logs "standby"."""
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(self.config_path),
            cwd=ROOT, stdout=log, stderr=asyncio.subprocess.STDOUT, env=env,
        )
        log.close()
        await self.wait_log(ready, ready_timeout)

    def new_log(self) -> str:
        return self.log_path.read_text(errors="replace")[self._log_offset:]

    async def wait_log(self, needle: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.new_log():
            if self.proc and self.proc.returncode is not None:
                raise RuntimeError(f"bot exited ({self.proc.returncode}):\n{self.new_log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"bot never logged {needle!r}:\n{self.new_log()[-3000:]}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def close(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
