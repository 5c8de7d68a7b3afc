"""toolkit.redact: a secret is replaced in every form a message could carry it in
(issue 22, item 6), and the CLI's log output and error line pass the redactor."""
from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from toolkit import redact

SECRET = 'pp-Tok3n!se/cr"et é+x'


def encodings(secret: str) -> dict[str, str]:
    """The secret as servers and libraries echo it back, each inside other text."""
    raw = secret.encode()
    out = {
        "raw": secret,
        "percent upper": quote(secret, safe=""),
        "percent lower": quote(secret, safe="").replace("%2F", "%2f").replace("%C3%A9", "%c3%a9")
        .replace("%22", "%22").replace("%21", "%21"),
        "percent with slashes": quote(secret),
        "form encoded": quote_plus(secret),
        "json": json.dumps({"token": secret}),
        "json unicode": json.dumps({"token": secret}, ensure_ascii=False),
        "json escaped slashes": json.dumps({"token": secret}).replace("/", "\\/"),
    }
    for k, lead in enumerate((b"", b"A", b"Bearer: ")):   # each base64 alignment
        out[f"base64 offset {len(lead)}"] = base64.b64encode(lead + raw + b"\r\n").decode()
        out[f"base64url offset {len(lead)}"] = base64.urlsafe_b64encode(lead + raw).decode()
    return out


@pytest.mark.parametrize("name", list(encodings(SECRET)))
def test_every_encoding_of_a_secret_is_redacted(name):
    text = f"HTTP 401: you sent <{encodings(SECRET)[name]}> which is wrong"
    scrubbed = redact.LogRedactor([SECRET]).scrub(text)
    assert "***" in scrubbed
    assert scrubbed.startswith("HTTP 401: you sent <") and scrubbed.endswith("> which is wrong")
    for form in redact.forms(SECRET):
        assert form not in scrubbed, (name, form)


def test_short_secrets_skip_base64_but_not_their_other_forms():
    forms = redact.forms("a/b")
    assert {"a/b", "a%2Fb", "a%2fb", "a\\/b"} <= forms
    assert all(len(f) <= 9 for f in forms)    # no 2-character base64 fragment


def test_url_passwords_and_the_formatter_scrub_tracebacks():
    url = "http://podkituser:Pa%40ss-w0rd-XYZ@127.0.0.1:9/"
    assert set(redact.url_secrets(url)) == {"podkituser:Pa%40ss-w0rd-XYZ", "Pa%40ss-w0rd-XYZ",
                                            "Pa@ss-w0rd-XYZ"}
    assert redact.url_secrets("https://example.org/") == []
    redact.register(*redact.url_secrets(url))
    formatter = redact.RedactingFormatter("%(message)s")
    try:
        raise ValueError(f"cannot reach {url} (as Pa@ss-w0rd-XYZ)")
    except ValueError:
        record = logging.LogRecord("botocore", logging.DEBUG, __file__, 1, "GET %s", (url,), None)
        import sys
        record.exc_info = sys.exc_info()
    text = formatter.format(record)
    assert "Traceback" in text and "ValueError" in text
    assert "Pa@ss" not in text and "Pa%40ss" not in text and "http://***@127.0.0.1:9/" in text
