"""Rate limits: per token for signed-in calls, per client address for the rest."""
from django.core.cache import caches
from rest_framework import throttling
from rest_framework.settings import api_settings


class _SharedCacheThrottle(throttling.SimpleRateThrottle):
    def __init__(self):
        self.cache = caches["api_throttle"]
        super().__init__()

    def get_ident(self, request):
        """The client address by the app's one proxy rule (PROXY_COUNT, audit.client_ip), never
        DRF's own, which believes any X-Forwarded-For when NUM_PROXIES is unset
        (docs/security.md "Client addresses")."""
        from preservation.core.audit import client_ip

        return client_ip(request) or "unknown"

    def get_rate(self):
        # Read at each call (not at import, as DRF does) so the setting can change in tests.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class TokenRateThrottle(_SharedCacheThrottle):
    """Each token has its own budget: one busy integration cannot starve another."""

    scope = "api_token"

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class UnauthenticatedRateThrottle(_SharedCacheThrottle):
    """The endpoints open to anyone (schema, reference page), per client address."""

    scope = "api_unauthenticated"

    def get_cache_key(self, request, view):
        if request.auth is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class FailedTokenThrottle(_SharedCacheThrottle):
    """Wrong tokens per client address. DRF authenticates before it throttles, so this is
    consulted by the authentication itself, and only failures count: a busy integration
    behind the same address as a guesser keeps working."""

    scope = "api_failed_token"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def blocked(self, request):
        """Whether this address has used up its failures (records nothing)."""
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def record_failure(self):
        """Count one failure; call after ``blocked``."""
        self.throttle_success()
