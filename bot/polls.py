"""Native Matrix polls (MSC3381), as Element and Element X send and render them: the
events' content built and read here, pure (no nio), the gateway sends and fetches them.

The bot sends the unstable event types and content blocks (`org.matrix.msc3381.poll.*`,
`org.matrix.msc1767.text`), which is what Element Web (matrix-js-sdk's `PollStartEvent`,
`PollEndEvent`) and Element X (ruma) send; it reads responses in both the unstable shape and
the stable one of the MSC (`m.poll.response` with `m.selections`).
"""

from __future__ import annotations

import json
from typing import Any

from bot.events import CONTENT_LIMIT
from bot.text import without_surrogates

START_TYPES = ("org.matrix.msc3381.poll.start", "m.poll.start")
RESPONSE_TYPES = ("org.matrix.msc3381.poll.response", "m.poll.response")
END_TYPES = ("org.matrix.msc3381.poll.end", "m.poll.end")

TEXT = "org.matrix.msc1767.text"  # MSC1767's text block, as Element names it
DISCLOSED = "org.matrix.msc3381.poll.disclosed"  # results shown while the poll is open
UNDISCLOSED = "org.matrix.msc3381.poll.undisclosed"  # results shown once it is closed
MAX_ANSWERS = 20  # MSC3381: clients truncate the answers to 20
MAX_ID = 100  # characters of an answer id
MAX_QUESTION = 500  # characters of the question
MAX_ANSWER_TEXT = 200  # characters of one answer's text
MAX_EVENT_ID = 255  # the spec's bound on an event id (bytes; characters here)


def poll_start(question: str, answers: list[tuple[str, str]], *, disclosed: bool = True,
               max_selections: int = 1) -> tuple[str, dict[str, Any]]:
    """The event type and content that start a poll: `answers` are (id, text) pairs in the
    order shown; the ids come back in the responses. `disclosed`: results are shown while
    the poll is open. Raises ValueError for what clients would refuse or cut: no question,
    no answers or more than 20, empty, repeated or overlong ids, overlong texts."""
    start_type = START_TYPES[0]
    question = without_surrogates(question).strip()
    if not question:
        raise ValueError("a poll needs a question")
    if len(question) > MAX_QUESTION:
        raise ValueError(f"a poll's question is at most {MAX_QUESTION} characters")
    if not answers:
        raise ValueError("a poll needs at least one answer")
    if len(answers) > MAX_ANSWERS:
        raise ValueError(f"a poll has at most {MAX_ANSWERS} answers")
    if not 1 <= max_selections <= len(answers):
        raise ValueError("max_selections must be between 1 and the number of answers")
    blocks = []
    for answer_id, text in answers:
        if not answer_id or len(answer_id) > MAX_ID or without_surrogates(answer_id) != answer_id:
            raise ValueError(f"an answer id is 1 to {MAX_ID} characters (no lone surrogates)")
        text = without_surrogates(text).strip()
        if not text:
            raise ValueError("an answer needs a text")
        if len(text) > MAX_ANSWER_TEXT:
            raise ValueError(f"an answer's text is at most {MAX_ANSWER_TEXT} characters")
        blocks.append({"id": answer_id, TEXT: text})
    if len({block["id"] for block in blocks}) != len(blocks):
        raise ValueError("answer ids must differ")
    fallback = "\n".join([question, *(f"{n}. {block[TEXT]}"
                                      for n, block in enumerate(blocks, 1))])
    content = {
        start_type: {
            "question": {TEXT: question},
            "kind": DISCLOSED if disclosed else UNDISCLOSED,
            "max_selections": max_selections,
            "answers": blocks,
        },
        TEXT: fallback,
    }
    if len(json.dumps(content, ensure_ascii=False).encode()) > CONTENT_LIMIT:
        raise ValueError("the poll does not fit in one event")
    return start_type, content


def poll_end(poll_event_id: str, text: str) -> tuple[str, dict[str, Any]]:
    """The event type and content that close the poll `poll_event_id`; `text` (e.g. the
    top answer) is what clients without polls show."""
    end_type = END_TYPES[0]
    return end_type, {
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event_id},
        end_type: {},
        TEXT: without_surrogates(text),
    }


def parse_response(event_type: str, content: dict[str, Any]
                   ) -> tuple[str, tuple[str, ...]] | None:
    """(the poll's event id, the chosen answer ids) of a poll response, unstable
    (`org.matrix.msc3381.poll.response: {answers: […]}`) or stable (`m.selections: […]`);
    None for anything else or anything malformed. No answers: the vote is withdrawn.
    The ids are as sent: checking them against the poll's answers, cutting them to its
    `max_selections` and counting a repeated one once are the counter's business."""
    if event_type not in RESPONSE_TYPES or not isinstance(content, dict):
        return None
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict) or relates.get("rel_type") != "m.reference":
        return None
    poll_id = relates.get("event_id")
    if not isinstance(poll_id, str) or not poll_id or len(poll_id) > MAX_EVENT_ID:
        return None
    if event_type == RESPONSE_TYPES[0]:
        block = content.get(RESPONSE_TYPES[0])
        answers = block.get("answers") if isinstance(block, dict) else None
    else:
        answers = content.get("m.selections")
    if not isinstance(answers, list) or len(answers) > MAX_ANSWERS:
        return None
    if not all(isinstance(a, str) and len(a) <= MAX_ID for a in answers):
        return None
    return poll_id, tuple(without_surrogates(a) for a in answers)
