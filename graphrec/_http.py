"""The one retry policy of graphrec's HTTP clients (image collection, the ConceptNet web API).

Which answers are worth another try, how long to wait before it, and how a server's ``Retry-After``
is read are decided here once: a retry waits ``backoff * 2**attempt`` seconds, or longer when the
server asks for longer (``Retry-After`` as delta-seconds or an HTTP date), never more than the
client's cap. The clients keep their own loops because each adds what urllib3's ``Retry`` cannot:
per-host pacing that a ``Retry-After`` pushes back (collection), answers that are retried for their
body (a 200 with broken JSON from the ConceptNet API), and injectable sleeps for tests.
"""

from __future__ import annotations

import email.utils

# 429 and the 5xx codes that mean "try again later"; any other 4xx is the request's fault and final.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


def retry_wait(attempt: int, *, backoff: float, retry_after: float | None = None, cap: float) -> float:
    """Seconds before retry number ``attempt + 1``: exponential back-off, or the server's wish if longer, at most ``cap``."""
    wait = backoff * (2**attempt)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return min(wait, cap)
