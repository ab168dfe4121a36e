"""Rate limits: a token bucket per API key, and a lower one per client address for
requests that carry no valid key.

Counted in process, per worker (the `token-bucket` library's in-memory storage), not in
the database: counting there would add a write to every request (on SQLite, a turn at the
one write lock) to protect the database from load. The price: with N worker processes a
client whose requests are spread over all of them gets up to N times the configured rate.
The limits are a guard against a runaway script or a flood, not a quota to bill.

Headers follow draft-ietf-httpapi-ratelimit-headers (-09/-10), the combined fields:
`RateLimit-Policy: "key";q=<burst>;w=<seconds to refill the bucket>` and
`RateLimit: "key";r=<requests left now>;t=<seconds until the bucket is full again>`,
on every counted response; a 429 adds `Retry-After` (seconds until the next request
is allowed).
"""

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import token_bucket
from starlette.types import Message, Receive, Scope, Send

from app.core.asgi import HTTPOnlyMiddleware
from app.core.errors import TooManyRequests

_STATE_KEY = "portfolio_rate_limit"


@dataclass(frozen=True)
class Policy:
    name: str  # "key" or "address", the policy's name in the headers
    rate: float  # tokens added per second
    burst: int  # the bucket's capacity

    @property
    def window_seconds(self) -> int:
        """How long an empty bucket takes to fill."""
        return max(1, math.ceil(self.burst / self.rate))

    def header(self) -> str:
        return f'"{self.name}";q={self.burst};w={self.window_seconds}'


@dataclass(frozen=True)
class Decision:
    policy: Policy
    allowed: bool
    tokens: float  # left in the bucket after this request

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.tokens))

    @property
    def reset_seconds(self) -> int:
        return max(0, math.ceil((self.policy.burst - self.tokens) / self.policy.rate))

    @property
    def retry_after_seconds(self) -> int:
        return max(1, math.ceil((1 - self.tokens) / self.policy.rate))

    def headers(self) -> dict[str, str]:
        fields = {
            "RateLimit-Policy": self.policy.header(),
            "RateLimit": f'"{self.policy.name}";r={self.remaining};t={self.reset_seconds}',
        }
        if not self.allowed:
            fields["Retry-After"] = str(self.retry_after_seconds)
        return fields


class _BoundedMemoryStorage(token_bucket.MemoryStorage):
    """The library's in-memory buckets, at most `max_buckets` of them.

    A full bucket says nothing a missing one would not (a new bucket starts full), so
    full ones are dropped first; if that is not enough, the oldest. Addresses are many
    and cheap to change, so without a bound the table itself would be the flood's target.
    """

    def __init__(self, max_buckets: int) -> None:
        super().__init__()
        self.max_buckets = max_buckets

    def replenish(self, key: str | bytes, rate: float, capacity: int) -> None:
        buckets = self._buckets
        if key not in buckets and len(buckets) >= self.max_buckets:
            # Down to 90% at once, so the scan runs once per tenth of the table's worth
            # of new keys, not on every new one.
            keep = self.max_buckets * 9 // 10
            now = time.monotonic()
            for old in [
                k for k, (tokens, at) in buckets.items() if tokens + rate * (now - at) >= capacity
            ]:
                del buckets[old]
            while len(buckets) > keep:
                del buckets[next(iter(buckets))]
        super().replenish(key, rate, capacity)


class _Buckets:
    def __init__(self, policy: Policy, max_buckets: int) -> None:
        self.policy = policy
        self.storage = _BoundedMemoryStorage(max_buckets)
        self.limiter = token_bucket.Limiter(policy.rate, policy.burst, self.storage)
        # Sync routes authenticate in a thread pool; one lock keeps a bucket's count
        # and the headers that report it consistent (it is held for microseconds).
        self.lock = threading.Lock()

    def take(self, key: str) -> Decision:
        with self.lock:
            allowed = self.limiter.consume(key)
            tokens = self.storage.get_token_count(key)
        return Decision(self.policy, allowed, tokens)


class RateLimiter:
    """The buckets of one worker process. A rate of 0 turns a policy off."""

    def __init__(
        self,
        *,
        key_rate: float,
        key_burst: int,
        address_rate: float,
        address_burst: int,
        max_buckets: int,
    ) -> None:
        self.keys = (
            _Buckets(Policy("key", key_rate, key_burst), max_buckets) if key_rate > 0 else None
        )
        self.addresses = (
            _Buckets(Policy("address", address_rate, address_burst), max_buckets)
            if address_rate > 0
            else None
        )

    def check_key(self, scope: Scope, key_id: int) -> None:
        """Count a request made with a valid key; 429 once its bucket is empty."""
        _enforce(scope, self.keys, f"key:{key_id}")

    def check_address(self, scope: Scope) -> None:
        """Count a request without a valid key by its client address (after
        X-Forwarded-For from a trusted proxy); 429 once that bucket is empty."""
        _enforce(scope, self.addresses, f"address:{client_address(scope)}")

    def take_for_key(self, scope: Scope, key_id: int) -> bool:
        """Count a request only if the key's bucket has a token (no 429 here)."""
        if self.keys is None:
            return True
        decision = self.keys.take(f"key:{key_id}")
        if decision.allowed:
            _remember(scope, decision)
        return decision.allowed


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _remember(scope: Scope, decision: Decision) -> None:
    scope.setdefault("state", {})[_STATE_KEY] = decision


def _enforce(scope: Scope, buckets: _Buckets | None, key: str) -> None:
    if buckets is None:
        return
    decision = buckets.take(key)
    _remember(scope, decision)
    if not decision.allowed:
        raise TooManyRequests(
            f"too many requests for this {buckets.policy.name}: at most "
            f"{buckets.policy.burst} at once, then {buckets.policy.rate:g} per second; "
            f"retry after {decision.retry_after_seconds} s",
            headers=decision.headers(),
        )


class RateLimitHeadersMiddleware(HTTPOnlyMiddleware):
    """Adds `RateLimit` and `RateLimit-Policy` to the response of every counted request."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision: Any = scope.get("state", {}).get(_STATE_KEY)
                if decision is not None:
                    present = {name.lower() for name, _ in message.get("headers", [])}
                    extra = [
                        (name.lower().encode(), value.encode())
                        for name, value in decision.headers().items()
                        if name.lower().encode() not in present
                    ]
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
