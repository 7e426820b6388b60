from __future__ import annotations

import logging

from bot.logs import RedactSecrets


def test_secrets_and_tokens_are_redacted() -> None:
    redactor = RedactSecrets(["syt_secret_value"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1,
                               "token %s and ?access_token=abc123&x=1 Bearer qwerty",
                               ("syt_secret_value",), None)
    redactor.filter(record)
    text = record.getMessage()
    assert "syt_secret_value" not in text and "abc123" not in text and "qwerty" not in text
    assert text.count("<redacted>") == 3


def test_secrets_in_tracebacks_are_redacted() -> None:
    redactor = RedactSecrets(["hunter2hunter2"])
    try:
        raise ValueError("password hunter2hunter2 rejected")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None,
                                   sys.exc_info())
    redactor.filter(record)
    assert "hunter2hunter2" not in (record.exc_text or "")
    assert "<redacted>" in (record.exc_text or "")
