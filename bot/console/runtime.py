"""What the console keeps per app: the login throttle, the signer of anonymous login-form
tokens, cookie policy and session lifetimes. Built once by ``bot.console.install``."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bot.console.throttle import LoginThrottle
from bot.settings import Settings

LOGIN_COOKIE = "congdan_login"
LOGIN_FORM_MAX_AGE_S = 3600


@dataclass
class ConsoleRuntime:
    throttle: LoginThrottle
    login_signer: URLSafeTimedSerializer
    secure_cookies: bool
    idle: dt.timedelta
    lifetime: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings, secret: str) -> ConsoleRuntime:
        return cls(
            throttle=LoginThrottle.from_settings(settings),
            login_signer=URLSafeTimedSerializer(secret, salt="congdan.console-login-form"),
            # Behind a TLS proxy the request scheme is http: the public URL decides.
            secure_cookies=(settings.public_url or "").startswith("https://"),
            idle=dt.timedelta(minutes=settings.console_session_idle_minutes),
            lifetime=dt.timedelta(hours=settings.console_session_hours),
        )

    # Anonymous login form: a signed double-submit token. The cookie holds a random nonce,
    # the form's hidden `csrf` input holds the same nonce signed with a timestamp.
    def new_login_token(self) -> tuple[str, str]:
        """(cookie nonce, signed form token)."""
        nonce = secrets.token_urlsafe(24)
        return nonce, str(self.login_signer.dumps(nonce))

    def login_token_ok(self, cookie_nonce: str | None, form_token: str | None) -> bool:
        if not cookie_nonce or not form_token or len(form_token) > 300:
            return False
        try:
            nonce = self.login_signer.loads(form_token, max_age=LOGIN_FORM_MAX_AGE_S)
        except (BadSignature, SignatureExpired):
            return False
        return isinstance(nonce, str) and hmac.compare_digest(nonce, cookie_nonce)
