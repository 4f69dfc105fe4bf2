"""Demo data: one agency, one user per role and about twenty requests in every state and
urgency level, dated relative to now. Running it again changes nothing that exists."""
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from preservation.accounts import services as accounts
from preservation.models import Agency, LegalProcessType, Outcome, PreservationRequest, Role, User
from preservation.requests import services
from preservation.rules import deadlines

DEMO_AGENCY = "Springfield Police Department (demo)"
DEMO_PASSWORD = "preserve-demo-2026"
DEMO_USERS = [
    ("officer", Role.REQUESTER, "Dana", "Reyes", "Detective"),
    ("paralegal", Role.PARALEGAL, "Sam", "Okafor", "Paralegal"),
    ("supervisor", Role.SUPERVISOR, "Lee", "Martin", "Sergeant"),
    ("admin", Role.AGENCY_ADMIN, "Alex", "Nguyen", "Records Manager"),
]
DOORBELL, MINI, SYNC2, XT = "G8T1-SJ02-3294-01VR", "G8T1-9412-3135-0JD5", "G8T1LPFFF4023S6S", "638241420"


class Command(BaseCommand):
    help = "Load demo data (idempotent). Refuses to run under production settings."

    def handle(self, *args, **options):
        if settings.ENVIRONMENT == "production":
            raise CommandError(_("seed_demo refuses to run under production settings."))
        with transaction.atomic():
            agency, _created = Agency.objects.get_or_create(
                name=DEMO_AGENCY,
                defaults={"country": "US", "time_zone": "America/New_York",
                          "postal_address": "742 Evergreen Terrace\nSpringfield, OR 97477",
                          "phone": "+15415550100"},
            )
            users = {name: self._user(agency, name, *rest) for name, *rest in DEMO_USERS}
            if not agency.requests.exists():
                self._requests(agency, users, timezone.now())
            second_factors = {name: self._second_factor(user) for name, user in users.items()}
        self._print_logins(second_factors)

    def _user(self, agency, username, role, first, last, title):
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"agency": agency, "role": role, "first_name": first, "last_name": last,
                      "rank_title": title, "email": "%s@springfield-pd.example" % username,
                      "badge_number": "SPD-%04d" % (1000 + len(username))},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user

    def _second_factor(self, user):
        """Every sign-in needs a second factor, demo users too: a TOTP key to add to an
        authenticator app (by typing it) and backup codes, made once and printed every run."""
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Demo authenticator", confirmed=True)
        codes = list(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
        if not codes:
            codes = accounts.backup_codes_replace(user=user)
        return accounts.totp_secret(device), codes

    def _print_logins(self, second_factors):
        self.stdout.write(_("Demo logins (password for each: %(password)s):") % {"password": DEMO_PASSWORD})
        for username, role, *_rest in DEMO_USERS:
            secret, codes = second_factors[username]
            self.stdout.write("  %-11s %s" % (username, Role(role).label))
            self.stdout.write("              " + _("authenticator key (time-based): %(key)s") % {"key": secret})
            self.stdout.write("              " + _("backup codes (each works once): %(codes)s")
                              % {"codes": " ".join(codes)})
        self.stdout.write(_("Open %(url)s and sign in: password, then a code from an authenticator app "
                            "holding the key above (or a backup code), then the notice.")
                          % {"url": settings.SITE_URL.rstrip("/") + "/"})

    def _draft(self, agency, user, now, *, days_ago, length=1.0, serials=(DOORBELL,), **fields):
        start = now - timedelta(days=days_ago)
        defaults = {
            "requester_name": user.get_full_name(), "requester_title": user.rank_title,
            "requester_badge": user.badge_number, "requester_email": user.email,
            "requester_phone": "+15415550123", "unit": "Property Crimes",
            "data_types": ["video_clips", "thumbnails", "event_metadata", "subscriber"],
            "window_start": start, "window_end": start + timedelta(days=length),
            "window_zone": agency.time_zone, "account_country": "US",
            "account_email": "homeowner%d@example.com" % days_ago, "language": "en",
        }
        defaults.update(fields)
        return services.request_save_draft(
            agency=agency, actor=user, fields=defaults,
            serial_rows=[{"raw": s} for s in serials], now=now,
        )

    def _sent(self, agency, user, now, *, sent_days_ago, **kwargs):
        request = self._draft(agency, user, now - timedelta(days=sent_days_ago),
                              days_ago=kwargs.pop("days_ago", 10), **kwargs)
        return services.request_send(preservation_request=request, actor=user,
                                     sent_at=now - timedelta(days=sent_days_ago), now=now)

    def _received(self, agency, user, now, *, received_days_ago, **kwargs):
        request = self._sent(agency, user, now, sent_days_ago=received_days_ago + 1, **kwargs)
        received_on = deadlines.local_date(now, agency.time_zone) - timedelta(days=received_days_ago)
        return services.request_record_receipt(preservation_request=request, actor=user, received_on=received_on,
                                               blink_reference="LE-%d" % request.pk, now=now)

    def _extended(self, agency, user, now, *, received_days_ago, confirmed=True, **kwargs):
        request = self._received(agency, user, now, received_days_ago=received_days_ago, **kwargs)
        sent_at = now - timedelta(days=received_days_ago - 80)
        request = services.request_send_extension(preservation_request=request, actor=user, sent_at=sent_at, now=now)
        if confirmed:
            received_on = deadlines.local_date(sent_at, agency.time_zone) + timedelta(days=1)
            request = services.request_record_extension_receipt(
                preservation_request=request, actor=user, received_on=received_on, now=now)
        return request

    def _requests(self, agency, users, now):
        officer, paralegal = users["officer"], users["paralegal"]
        self._draft(agency, officer, now, days_ago=100, case_number="CR-2026-0101")  # lost
        self._draft(agency, officer, now, days_ago=62, length=5, case_number="CR-2026-0102")  # losing
        self._draft(agency, officer, now, days_ago=58.5, case_number="CR-2026-0103")  # critical
        self._draft(agency, officer, now, days_ago=5, serials=(XT, SYNC2), case_number="CR-2026-0104")  # legacy
        self._draft(agency, officer, now, days_ago=55, serials=(MINI,), case_number="CR-2026-0105")  # high
        self._draft(agency, paralegal, now, days_ago=50, case_number="CR-2026-0106")  # elevated
        self._draft(agency, officer, now, days_ago=20, case_number="CR-2026-0107")  # normal
        self._draft(agency, officer, now, days_ago=40, data_types=["subscriber", "sign_ins"],
                    case_number="CR-2026-0108")  # non-content only
        self._draft(agency, officer, now, days_ago=20, account_country="DE", language="de",
                    case_number="CR-2026-0109")  # 30-day account
        services.request_save_draft(agency=agency, actor=officer, now=now,
                                    fields={"requester_name": officer.get_full_name(), "case_number": "CR-2026-0110"})
        self._sent(agency, officer, now, sent_days_ago=1, case_number="CR-2026-0111")
        self._sent(agency, officer, now, sent_days_ago=5, case_number="CR-2026-0112")
        self._received(agency, officer, now, received_days_ago=40, case_number="CR-2026-0113")
        self._received(agency, paralegal, now, received_days_ago=80, case_number="CR-2026-0114")
        self._extended(agency, officer, now, received_days_ago=86, confirmed=False, case_number="CR-2026-0115")
        self._extended(agency, officer, now, received_days_ago=100, case_number="CR-2026-0116")
        served = self._received(agency, officer, now, received_days_ago=30, case_number="CR-2026-0117")
        services.request_record_legal_process(
            preservation_request=served, actor=officer, process_type=LegalProcessType.SEARCH_WARRANT,
            served_on=deadlines.local_date(now, agency.time_zone) - timedelta(days=3), now=now)
        lapsed = self._received(agency, officer, now, received_days_ago=95, case_number="CR-2026-0118")
        services.request_lapse(preservation_request=lapsed, now=now)
        closed = self._received(agency, officer, now, received_days_ago=60, case_number="CR-2026-0119")
        closed = services.request_record_legal_process(
            preservation_request=closed, actor=officer, process_type=LegalProcessType.SUBPOENA,
            served_on=deadlines.local_date(now, agency.time_zone) - timedelta(days=20), now=now)
        services.request_close(preservation_request=closed, actor=users["supervisor"], outcome=Outcome.PRODUCED, now=now)
        withdrawn = self._draft(agency, officer, now, days_ago=30, case_number="CR-2026-0120")
        services.request_withdraw(preservation_request=withdrawn, actor=officer, reason="Suspect identified; footage not needed.", now=now)
        services.requests_refresh_urgency(now=now, queryset=PreservationRequest.objects.filter(agency=agency))
