import datetime as dt

import factory
from django.utils import timezone

from preservation.models import Agency, DeviceSerial, PreservationRequest, Role, User
from preservation.requests import services


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: "Agency %d" % n)
    country = "US"
    time_zone = "America/New_York"
    postal_address = "1 Main Street\nSpringfield"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: "user%d" % n)
    email = factory.LazyAttribute(lambda u: "%s@agency.example" % u.username)
    first_name = "Dana"
    last_name = factory.Sequence(lambda n: "Officer%d" % n)
    agency = factory.SubFactory(AgencyFactory)
    role = Role.REQUESTER
    password = factory.django.Password("correct horse battery staple")


class RequestFactory(factory.django.DjangoModelFactory):
    """A complete request, ready to send, whose deadlines are computed as the services do."""

    class Meta:
        model = PreservationRequest
        skip_postgeneration_save = True

    agency = factory.SubFactory(AgencyFactory)
    created_by = factory.SubFactory(UserFactory, agency=factory.SelfAttribute("..agency"))
    assigned_to = factory.SelfAttribute("created_by")
    requester_name = "Dana Scully"
    requester_title = "Detective"
    requester_badge = "4471"
    requester_email = "dana.scully@agency.example"
    requester_phone = "+12025550143"
    unit = "Burglary"
    case_number = factory.Sequence(lambda n: "CR-2026-%05d" % n)
    data_types = ["video_clips", "subscriber"]
    window_start = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=10))
    window_end = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=9))
    window_zone = "America/New_York"
    account_email = "owner@example.com"
    account_country = "US"

    @factory.post_generation
    def serials(obj, create, extracted, **kwargs):
        if not create:
            return
        for position, raw in enumerate(extracted if extracted is not None else ["G8T1-SJ02-3294-01VR"]):
            parsed = services.serials.parse_serial(raw)
            DeviceSerial.objects.create(
                request=obj, position=position, raw=raw,
                normalized=parsed.normalized if parsed.valid else "",
                generation=parsed.generation or "", model=parsed.model_hint or "",
            )
        services.request_recompute(preservation_request=obj, now=timezone.now())
