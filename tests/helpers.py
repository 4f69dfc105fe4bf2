"""Test helpers shared by every test module."""


def login(client, user):
    """Sign ``user`` in on ``client`` as a fully authenticated session would be.

    Every test that needs a signed-in user goes through here, so that when sign-in grows
    (second factor, banner acknowledgement) only this function changes.
    """
    client.force_login(user)
    return client
