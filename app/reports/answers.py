"""Report answers kept by ETag, per worker process.

A report's ETag (app.reports.conditional) is made of everything its body depends on: the
revisions of the kinds of data it reads, the report, its query, the representation, the
caller's scope and today. Two requests with the same ETag get the same body, which is what
a 304 already relies on; so the body computed for one tag can answer every other request
that gets that tag. Ten dashboards polling after a write then cost one computation per
worker instead of ten: the first computes, the others that arrive meanwhile wait for it
(one computation per tag at a time) and take its answer.

The tag is read before the report's queries run, in an earlier transaction: a body computed
for a tag may hold a write that committed in between, never less than the tag says. A
client holding such a tag gets a 200 on its next poll, as without the cache.

Bounded by bytes (`report_cache_bytes`, least recently used out first; 0 turns it off); an
answer larger than the whole budget is not kept.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str
    headers: tuple[tuple[str, str], ...] = ()


class AnswerCache:
    def __init__(self, max_bytes: int) -> None:
        self._answers: LRUCache[str, Answer] | None = (
            LRUCache(maxsize=max_bytes, getsizeof=lambda answer: len(answer.body))
            if max_bytes > 0
            else None
        )
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    def _get(self, etag: str) -> Answer | None:
        if self._answers is None:
            return None
        with self._lock:
            return self._answers.get(etag)

    def answer(self, etag: str, build: Callable[[], Answer]) -> Answer:
        """The answer kept for `etag`, else `build()`'s, kept for the next request."""
        if self._answers is None:
            return build()
        found = self._get(etag)
        if found is not None:
            return found
        with self._lock:
            building = self._building.setdefault(etag, threading.Lock())
        try:
            with building:
                found = self._get(etag)
                if found is not None:
                    return found
                built = build()
                with self._lock:
                    if len(built.body) <= self._answers.maxsize:
                        self._answers[etag] = built
                return built
        finally:
            with self._lock:
                self._building.pop(etag, None)
