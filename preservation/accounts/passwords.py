"""Password rules beyond Django's own validators (docs/security.md "Passwords")."""
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class RepeatedPatternValidator:
    """Refuses a password that is one short run repeated ("aaaaaaaaaaaa", "abababababab",
    "123123123123") or has very few different characters: long, yet guessed at once."""

    def __init__(self, min_distinct=5, max_unit=4):
        self.min_distinct = min_distinct
        self.max_unit = max_unit

    def _repeats(self, password):
        text = password.lower()
        for size in range(1, self.max_unit + 1):
            unit = text[:size]
            if unit and (unit * (len(text) // size + 1)).startswith(text):
                return True
        return False

    def validate(self, password, user=None):
        if self._repeats(password) or len(set(password.lower())) < self.min_distinct:
            raise ValidationError(
                _("This password repeats a few characters. Choose a pass phrase of several words."),
                code="password_repeated")

    def get_help_text(self):
        return _("Your password cannot be a few characters repeated.")
