"""The ASP.NET WebForms machinery the judiciary site's pages rely on.

View state, event validation, the session cookie and AjaxControlToolkit's NoBot
(docs/SITES.md §1.1-1.2): a client that does not carry the current page's hidden fields,
keep the session cookie and answer the NoBot challenge in time is refused, as it would
be on the real site. View state is signed (like ASP.NET's MAC) so tampering is caught.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import threading
import time
from collections import deque
from dataclasses import dataclass, field

SESSION_COOKIE = (
    "ASP.NET_SessionId"  # 24 chars of [a-z0-5], e.g. "kq3vbn0cq1xjzw55yqy2ba45"
)
#: The ViewState of a LosFormatter blob starts with bytes FF 01 ("/wE" in base64).
VIEWSTATE_MAGIC = b"\xff\x01"
NOBOT_FIELD = "ctl00$NoBot$NoBot_NoBotExtender_ClientState"
#: Live sessions kept; beyond this the oldest is dropped (as a time-out would), so a
#: client that never keeps cookies cannot grow the replica's memory without bound.
MAX_SESSIONS = 20_000

#: NoBot defaults from the toolkit source (NoBot.cs); the site's own values are
#: UNVERIFIED (docs/SITES.md §9).
NOBOT_MIN_DELAY_SECONDS = 2.0
NOBOT_CUTOFF_WINDOW_SECONDS = 60.0
NOBOT_CUTOFF_MAX_INSTANCES = 5

NOBOT_VALID = "Valid"
NOBOT_BAD_RESPONSE = "InvalidBadResponse"
NOBOT_BAD_SESSION = "InvalidBadSession"
NOBOT_TOO_SOON = "InvalidResponseTooSoon"
NOBOT_TOO_ACTIVE = "InvalidAddressTooActive"


class BadViewState(Exception):
    """The posted view state is missing, tampered with or from another session."""


class BadEventValidation(Exception):
    """The posted event validation does not match the page or a value is foreign."""


@dataclass
class Session:
    """What the server keeps per ASP.NET_SessionId."""

    sid: str
    created: float
    requests: int = 0
    warmed: bool = False  # a search or LoadDocket happened in this session
    loaded: str | None = None  # the docket LoadDocket last opened in this session
    nobot: dict[str, tuple[int, float]] = field(default_factory=dict)


@dataclass
class NoBotRules:
    """The NoBot settings; ``enforce_timing`` False is the replica's --fast mode."""

    min_delay: float = NOBOT_MIN_DELAY_SECONDS
    window: float = NOBOT_CUTOFF_WINDOW_SECONDS
    max_instances: int = NOBOT_CUTOFF_MAX_INSTANCES
    enforce_timing: bool = True


class Machinery:
    """Sessions, signed view state and NoBot bookkeeping for one replica instance."""

    def __init__(self, *, secret: bytes, rules: NoBotRules, clock=time.monotonic):
        self._secret = secret
        self.rules = rules
        self.clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._postbacks: dict[str, deque[float]] = {}
        self._nobot_seq = 0

    # Sessions -----------------------------------------------------------------
    def new_session(self) -> Session:
        """Create a session with a fresh ASP.NET-style id."""
        alphabet = string.ascii_lowercase + "012345"
        sid = "".join(secrets.choice(alphabet) for _ in range(24))
        session = Session(sid=sid, created=self.clock())
        with self._lock:
            self._sessions[sid] = session
            if len(self._sessions) > MAX_SESSIONS:  # the oldest session times out
                self._sessions.pop(next(iter(self._sessions)))
        return session

    def get_session(self, sid: str | None) -> Session | None:
        """Return the live session for a cookie value, or None."""
        if not sid:
            return None
        with self._lock:
            return self._sessions.get(sid)

    def drop_session(self, sid: str) -> None:
        """Forget a session (what a session time-out does)."""
        with self._lock:
            self._sessions.pop(sid, None)

    # NoBot --------------------------------------------------------------------
    def issue_challenge(self, session: Session, millisecond: int) -> tuple[str, str]:
        """Return (challenge script "~N", session key) and remember the answer."""
        with self._lock:
            self._nobot_seq += 1
            key = f"NoBot_SessionKey_ctl00$NoBot_{self._nobot_seq}"
            session.nobot[key] = (~millisecond, self.clock())
            if len(session.nobot) > 50:  # bound memory for long crawls
                session.nobot.pop(next(iter(session.nobot)))
        return f"~{millisecond}", key

    def check_nobot(
        self, session: Session | None, key: str, answer: str, ip: str
    ) -> str:
        """Return NOBOT_VALID or the toolkit's failure state for a postback."""
        now = self.clock()
        with self._lock:
            hits = self._postbacks.setdefault(ip, deque())
            while hits and now - hits[0] > self.rules.window:
                hits.popleft()
            hits.append(now)
            too_active = len(hits) > self.rules.max_instances
        if session is None or key not in session.nobot:
            return NOBOT_BAD_SESSION
        expected, issued = session.nobot.pop(key)
        if answer.strip() != str(expected):
            return NOBOT_BAD_RESPONSE
        if self.rules.enforce_timing:
            if now - issued < self.rules.min_delay:
                return NOBOT_TOO_SOON
            if too_active:
                return NOBOT_TOO_ACTIVE
        return NOBOT_VALID

    # View state and event validation -----------------------------------------
    def _mac(self, data: bytes) -> bytes:
        return hmac.new(self._secret, data, hashlib.sha256).digest()[:20]

    def encode_viewstate(self, state: dict, filler: str = "") -> str:
        """Return a signed view state holding ``state`` (plus page data as ballast)."""
        body = json.dumps(state, separators=(",", ":")).encode()
        ballast = filler.encode("utf-8", "replace")
        blob = VIEWSTATE_MAGIC + len(body).to_bytes(4, "big") + body + ballast
        return base64.b64encode(blob + self._mac(blob)).decode("ascii")

    def decode_viewstate(self, value: str | None) -> dict:
        """Return the state inside a posted view state, or raise BadViewState."""
        try:
            raw = base64.b64decode(value or "", validate=True)
        except ValueError as exc:
            raise BadViewState("not base64") from exc
        blob, mac = raw[:-20], raw[-20:]
        if not blob.startswith(VIEWSTATE_MAGIC) or not hmac.compare_digest(
            mac, self._mac(blob)
        ):
            raise BadViewState("MAC check failed")
        size = int.from_bytes(blob[2:6], "big")
        return json.loads(blob[6 : 6 + size])

    def encode_event_validation(self, viewstate: str, allowed: list[str]) -> str:
        """Return the event validation that ties ``allowed`` values to one page."""
        digest = self._mac(viewstate.encode() + "\x00".join(allowed).encode())
        return base64.b64encode(
            VIEWSTATE_MAGIC + b"\x14" + digest + b"\x00" * 30
        ).decode()

    def check_event_validation(
        self, value: str | None, viewstate: str, allowed: list[str]
    ) -> None:
        """Raise BadEventValidation unless ``value`` was issued with this view state."""
        if not value or not hmac.compare_digest(
            value, self.encode_event_validation(viewstate, allowed)
        ):
            raise BadEventValidation("event validation does not match the page")
