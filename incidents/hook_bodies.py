"""Reading what Mattermost (or anyone on the network) POSTs to the incident hooks, refusing what no real caller
sends before it costs memory or a parser's stack: bodies over 64 KB, JSON nested deeper than 64 levels, numbers
longer than Python reads, text that is not UTF-8."""

from __future__ import annotations

import json
import sys
from typing import Any

from starlette.requests import Request

from collectors.packet_members import MAX_NESTING_DEPTH, bracket_depth

MAX_BODY_BYTES = 64 * 1024


class BodyRefused(Exception):
    """The body is not one we read; ``status`` is the HTTP answer and the message the sentence for it."""

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status


async def read_body(request: Request) -> bytes:
    """The body, refused as soon as it passes the limit so a huge upload is never held in memory."""
    declared = request.headers.get("content-length", "")
    too_large = BodyRefused(413, f"The request is larger than {MAX_BODY_BYTES // 1024} KB.")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


def parse_json(body: bytes, what: str = "a request to this endpoint is one flat JSON object") -> Any:
    """The JSON value of ``body``; BodyRefused (400) naming what is wrong with it (``what`` says what a body of
    this endpoint is, for the sentences about depth and numbers)."""
    if bracket_depth(body, skip_strings=True) > MAX_NESTING_DEPTH:
        raise BodyRefused(400, f"The body nests JSON more than {MAX_NESTING_DEPTH} levels deep; {what}.")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BodyRefused(400, "The body is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise BodyRefused(400, f"The body is not valid JSON: {exc}.") from None
    except ValueError:  # the parser's only other one: an integer literal past Python's limit on digits
        raise BodyRefused(400, f"The body holds a number of more than {sys.get_int_max_str_digits():,} digits, "
                               "far longer than any this endpoint takes.") from None
    except RecursionError:  # only if the byte count above ever misjudged the nesting
        raise BodyRefused(400, f"The body nests JSON too deeply to read; {what}.") from None
