"""Splitting command lines and converting arguments from handler signatures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import BadArgument, CommandNotFound, UsageError
from bot.framework import Registry, Rest, command
from bot.framework.parsing import strip_reply_fallback, tokenize


def words(line: str) -> list[str]:
    return [t.text for t in tokenize(line)]


def test_quotes_group_words() -> None:
    assert words('add "Design week" 2027') == ["add", "Design week", "2027"]
    assert words("say 'two words' x") == ["say", "two words", "x"]
    assert words("„Łódź Kaliska” ok") == ["Łódź Kaliska", "ok"]
    assert words("  spaced   out  ") == ["spaced", "out"]
    assert words("") == []


def test_unclosed_quote_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        tokenize('say "oops')


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Zs", "Cc")),
                        min_size=1, max_size=8).filter(
    lambda w: not any(q in w for q in "\"'“„«»”")), max_size=6))
def test_plain_words_round_trip(items: list[str]) -> None:
    assert words(" ".join(items)) == items


def test_reply_fallback_lines_are_dropped() -> None:
    assert strip_reply_fallback("> <@a:b> hi\n> there\n\n!ping") == "!ping"
    assert strip_reply_fallback("!ping > not a quote") == "!ping > not a quote"
    assert strip_reply_fallback("plain") == "plain"


def make_registry() -> Registry:
    reg = Registry()

    @command("add", help="add")
    async def add(ctx, title: str, count: int = 1, note: Rest = "") -> None:  # noqa: ANN001
        pass

    reg.add(add)
    return reg


async def test_signature_drives_conversion() -> None:
    cmd = make_registry().resolve("add")
    assert cmd.usage("!") == "!add <title> [count] [note…]"
    assert await cmd.parse(None, '"A title" 3 the rest,  as typed') == {
        "title": "A title", "count": 3, "note": "the rest,  as typed"}
    assert await cmd.parse(None, "x") == {"title": "x", "count": 1, "note": ""}


async def test_bad_int_names_the_value() -> None:
    cmd = make_registry().resolve("add")
    with pytest.raises(BadArgument) as err:
        await cmd.parse(None, "x many")
    assert err.value.params == {"value": "many"}


async def test_missing_required_argument() -> None:
    cmd = make_registry().resolve("add")
    with pytest.raises(UsageError) as err:
        await cmd.parse(None, "")
    assert err.value.params == {"name": "title"}


def test_unknown_command_suggests_closest_with_prefix() -> None:
    reg = make_registry()
    with pytest.raises(CommandNotFound) as err:
        reg.resolve("ad", prefix="?")
    assert err.value.params == {"name": "?ad", "suggestion": "?add"}
    with pytest.raises(CommandNotFound) as err:
        reg.resolve("zzzzzz")
    assert "suggestion" not in err.value.params


def test_duplicate_names_are_refused() -> None:
    reg = make_registry()
    @command("add", help="again")
    async def again(ctx) -> None:  # noqa: ANN001
        pass

    with pytest.raises(ValueError):
        reg.add(again)


def test_rest_must_be_last() -> None:
    with pytest.raises(TypeError):
        @command("bad", help="bad")
        async def bad(ctx, text: Rest, n: int) -> None:  # noqa: ANN001
            pass


async def test_rest_of_line_keeps_its_quotes() -> None:
    cmd = make_registry().resolve("add")
    parsed = await cmd.parse(None, "title 2 I said \"hi and 'left it open")
    assert parsed["note"] == "I said \"hi and 'left it open"
