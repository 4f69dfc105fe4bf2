"""Test helpers shared by every test module."""
import socket

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from preservation.core.middleware import BANNER_ACK


def verified_device(user):
    """The user's confirmed authenticator, made if they have none."""
    return (TOTPDevice.objects.filter(user=user, confirmed=True).first()
            or TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True))


def login(client, user):
    """Sign ``user`` in on ``client`` as a fully authenticated session would be: password,
    second factor (a confirmed TOTP device, verified) and the login banner acknowledged.

    Every test that needs a signed-in user goes through here, so that when sign-in grows
    only this function changes. Works with ``django.test.Client`` and ``AsyncClient``.
    """
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = verified_device(user).persistent_id
    session[BANNER_ACK] = True
    session.save()
    return client


def free_port():
    """A loopback port that was free a moment ago (the kernel's choice): tests never use fixed
    ports, so two runs on one machine, or parallel workers, do not collide."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
