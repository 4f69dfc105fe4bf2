"""The gunicorn access log without the secrets some paths carry (docs/security.md "Secrets in
URLs"): calendar-feed secrets, invitation tokens and password-reset links are credentials, and
log files are read by more people, and kept longer, than the credentials should be."""
import re

from gunicorn.glogging import Logger

SECRET_PATHS = [
    (re.compile(r"(/calendar/)[^/\s\"?]+(\.ics)"), r"\1[secret]\2"),
    (re.compile(r"(/accounts/invitation/)[^/\s\"?]+"), r"\1[secret]"),
    (re.compile(r"(/accounts/password/reset/)[^/\s\"?]+/[^/\s\"?]+"), r"\1[secret]"),
]


def redact_path(text):
    for pattern, replacement in SECRET_PATHS:
        text = pattern.sub(replacement, text)
    return text


class RedactingLogger(Logger):
    """Every atom of an access-log line (the path, the request line, the environ copies of both)
    with the secrets in paths replaced by "[secret]"."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact_path(value) if isinstance(value, str) else value for key, value in atoms.items()}
