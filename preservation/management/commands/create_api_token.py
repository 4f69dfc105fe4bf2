from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from preservation.api.tokens import DEFAULT_DAYS, MAX_DAYS, api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS,
                            help="days until it expires (1-%d, default %d)" % (MAX_DAYS, DEFAULT_DAYS))
        parser.add_argument("--name", default="", help="what the token is for (default: created by an operator)")

    def handle(self, *args, username, days, name, **options):
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(_("--days must be between 1 and %(max)d.") % {"max": MAX_DAYS})
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user named %(username)s.") % {"username": username})
        if not user.is_active:
            raise CommandError(_("The user %(username)s is deactivated.") % {"username": username})
        token, plain = api_token_create(user=user, name=name or _("Created by an operator"), days=days)
        self.stderr.write(_("Token “%(name)s” for %(username)s, expires %(expires)s. Store it now: "
                            "it cannot be shown again.") % {
            "name": token.name, "username": username, "expires": token.expires_at.strftime("%Y-%m-%d %H:%M UTC")})
        self.stdout.write(plain)
