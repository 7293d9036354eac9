"""The form's abuse guards, none of which needs to know who is asking: signed single-use
CSRF tokens (no IP address, no cookie, nothing stored). Its rate limits are the SMTP edge's
in-memory token buckets (`intake.limits.Buckets`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

TOKEN_LIFETIME = 4 * 3600  # seconds a form may stay open before it must be reloaded
MAX_USED = 100_000  # tokens remembered as used (older ones have expired anyway)


class CsrfTokens:
    """`issue(purpose)` for a page, `redeem(purpose, token)` once on its POST.

    A token is `issued.nonce.mac`, the MAC keyed with a secret made at start, over the purpose
    (the report form, or one follow-up page) as well: another site cannot read one (the
    same-origin policy), one page's token is no use on another, and each is good once. A
    restart makes open forms ask to be sent again; nothing about the token is stored on disk.
    """

    def __init__(self, clock: Callable[[], float] = time.time, key: bytes | None = None):
        self.clock = clock
        self.key = key or secrets.token_bytes(32)
        self.used: OrderedDict[str, float] = OrderedDict()

    def _mac(self, purpose: str, issued: str, nonce: str) -> str:
        message = f"{purpose}|{issued}|{nonce}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def issue(self, purpose: str) -> str:
        issued = str(int(self.clock()) // 60)  # to the minute, like everything else here
        nonce = secrets.token_urlsafe(16)
        return f"{issued}.{nonce}.{self._mac(purpose, issued, nonce)}"

    def valid(self, purpose: str, token: str) -> bool:
        parts = (token or "").split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            return False
        issued, nonce, mac = parts
        if not hmac.compare_digest(mac, self._mac(purpose, issued, nonce)):
            return False
        age = self.clock() - int(issued) * 60
        return -60 <= age <= TOKEN_LIFETIME and nonce not in self.used

    def redeem(self, purpose: str, token: str) -> bool:
        """Valid and not used before; it is used from now on."""
        if not self.valid(purpose, token):
            return False
        now = self.clock()
        self.used[token.split(".")[1]] = now
        while self.used and (
            len(self.used) > MAX_USED or next(iter(self.used.values())) < now - TOKEN_LIFETIME
        ):
            self.used.popitem(last=False)
        return True
