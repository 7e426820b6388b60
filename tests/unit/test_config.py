"""Config validation: one clear line per problem, secrets from the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.app import load_config, parse_config
from bot.errors import ConfigError
from tests.conftest import base_config


def problems(raw: object, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(raw, environ=environ or {})
    return err.value.problems


def test_minimal_config_gets_defaults() -> None:
    config = parse_config(base_config(), environ={})
    assert config.command_prefix == "!"
    assert config.default_language == "en"
    assert config.database.url == "sqlite+aiosqlite:///sbcc.db"
    assert config.matrix.server_name == "test"


def test_every_problem_is_reported_with_its_key() -> None:
    found = problems({"matrix": {"homeserver": "ftp://x", "user_id": "sbcc"},
                      "default_language": "fr", "coordinators": ["bob"]})
    joined = "\n".join(found)
    assert "matrix.homeserver: must be an http:// or https:// URL" in joined
    assert "matrix.user_id: must look like @name:server" in joined
    assert "matrix.access_token: either" in joined
    assert "default_language: must be one of en, pl, de, lt, sv" in joined
    assert "coordinators: 'bob' is not a Matrix ID" in joined
    assert len(found) == 5


def test_unknown_key_has_a_hint() -> None:
    [problem] = problems(base_config(comand_prefix="?"))
    assert problem.startswith("comand_prefix: unknown key (did you mean 'command_prefix'?)")
    [nested] = problems(base_config(matrix={"homeserver": "http://h", "user_id": "@a:b",
                                            "acess_token": "x", "access_token": "y"}))
    assert nested.startswith("matrix.acess_token: unknown key (did you mean 'access_token'?)")


def test_secrets_from_environment() -> None:
    raw = {"matrix": {"homeserver": "http://h", "user_id": "@a:b"}}
    config = parse_config(raw, environ={"SBCC_MATRIX_PASSWORD": "pw123456",
                                        "SBCC_DATABASE_URL": "postgresql://u:dbpass@h/db"})
    assert config.matrix.password == "pw123456"
    assert config.database.url == "postgresql+asyncpg://u:dbpass@h/db"
    assert "dbpass" in config.secrets() and "pw123456" in config.secrets()
    assert "pw123456" not in repr(config) and "dbpass" not in repr(config)


def test_allowed_inviters_take_ids_and_servers() -> None:
    config = parse_config(base_config(allowed_inviters=["@ala:x.org", ":partner.eu"]),
                          environ={})
    assert config.may_invite("@ala:x.org")
    assert config.may_invite("@anyone:partner.eu")
    assert not config.may_invite("@bob:x.org")
    assert parse_config(base_config(), environ={}).may_invite("@bob:x.org")
    [problem] = problems(base_config(allowed_inviters=["partner.eu"]))
    assert problem.startswith("allowed_inviters: 'partner.eu' is not")


def test_wrong_types_and_bad_yaml(tmp_path: Path) -> None:
    assert problems({"matrix": "nope"})[0] == "matrix: must be a mapping of keys to values"
    path = tmp_path / "c.yaml"
    path.write_text("matrix:\n  homeserver: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "not valid YAML at line" in err.value.problems[0]
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "missing.yaml")
    assert "cannot read the file" in err.value.problems[0]


def test_schema_only_for_postgresql() -> None:
    [problem] = problems(base_config(database={"url": "sqlite:///x.db", "schema": "bot"}))
    assert problem == "database.schema: is only for PostgreSQL"


def test_example_config_is_valid_once_its_secrets_are_filled_in() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.yaml"
    raw = yaml.safe_load(example.read_text(encoding="utf-8"))
    for hook in raw["web"]["hooks"].values():
        hook["token"] = "a-long-random-string-that-is-real"
    config = parse_config(raw, environ={"SBCC_MATRIX_ACCESS_TOKEN": "syt_a_real_token"})
    assert config.matrix.user_id.startswith("@")
    with pytest.raises(ConfigError) as err:  # as shipped: each placeholder is named
        load_config(example, environ={})
    assert all("placeholder" in p for p in err.value.problems), err.value.problems
    assert any(p.startswith("matrix.access_token:") for p in err.value.problems)
    assert any(p.startswith("web.hooks.city-szczecin.token:") for p in err.value.problems)


def test_cli_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("matrix:\n  homeserver: http://h\ndefault_language: xx\n")
    result = subprocess.run([sys.executable, "-m", "bot", "check-config", "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert any(line.strip().startswith("matrix.user_id: is required") for line in lines)
    assert any(line.strip().startswith("default_language:") for line in lines)


def network_problems(**network: object) -> list[str]:
    return problems(base_config(network={"space": {"alias": "sbcc"}, **network}))


LOC = {"key": "szczecin", "name": "Szczecin", "country": "PL", "language": "pl",
       "timezone": "Europe/Warsaw", "alias": "sbcc-szczecin"}


def test_network_duplicate_keys_and_alias_clash() -> None:
    found = network_problems(locations=[LOC, {**LOC, "alias": "other"}],
                             topics=[{"key": "design", "name": "D", "alias": "sbcc-szczecin"}])
    joined = "\n".join(found)
    assert "network.locations: the key 'szczecin' is used twice" in joined
    assert "the alias 'sbcc-szczecin' is used by both 'szczecin' and 'design'" in joined


def test_network_language_timezone_and_room_references() -> None:
    found = network_problems(locations=[{**LOC, "language": "fr", "timezone": "Mars/Olympus"},
                                        {**LOC, "key": "x", "alias": None,
                                         "room": "not a room"}])
    joined = "\n".join(found)
    assert "network.locations[0].language: must be one of en, pl, de, lt, sv" in joined
    assert "network.locations[0].timezone: 'Mars/Olympus' is not a timezone" in joined
    assert "network.locations[1].room: must be a room alias (#name:server) or a room id" \
        in joined


def test_network_rooms_need_a_space_and_adopted_rooms_parse() -> None:
    assert problems(base_config(network={"locations": [LOC]})) == [
        "network.space: is required when rooms are configured"]
    config = parse_config(base_config(network={
        "space": {"alias": "sbcc"},
        "locations": [{**LOC, "alias": None, "room": "#kreativ:rostock.de"}],
        "partners_room": {"alias": "sbcc-partners", "language": "en"}}), environ={})
    [location] = config.network.locations
    assert location.room == "#kreativ:rostock.de" and location.alias is None
    assert config.network.partners.name == "Partners"


def test_feature_sections_are_validated() -> None:
    found = "\n".join(problems(base_config(
        forums={"reminders": ["30d", "soon"], "grace": "forever"},
        matchmaking={"rounds": "sometimes"},
        digest={"schedule": "someday"},
        web={"listen": "nowhere", "hooks": {"city": {"token": "short", "rooms": []}}})))
    for expected in ("forums.reminders: 'soon' is not an offset",
                     "forums.grace: 'forever' is not a duration",
                     "matchmaking.rounds: must look like",
                     "digest.schedule: must look like 'mon 09:00'",
                     "web.listen: must look like 127.0.0.1:8080",
                     "web.hooks.city.token: must be at least 16 characters",
                     "web.hooks.city.rooms: must name at least one network room key"):
        assert expected in found, expected


def test_the_examples_placeholders_are_refused() -> None:
    example = problems({**base_config(), "matrix": {
        "homeserver": "https://matrix.example.org", "user_id": "@sbcc:example.org",
        "access_token": "syt_replace_me"}})
    assert any(p.startswith("matrix.access_token: is still the example's placeholder")
               for p in example)
    assert problems({**base_config(), "matrix": {
        "homeserver": "https://matrix.example.org", "user_id": "@sbcc:example.org",
        "password": "..."}})
    assert parse_config(base_config(), environ={}).matrix.access_token  # a real-looking one
