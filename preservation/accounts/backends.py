"""Password sign-in (after django-axes' lockout check) that loads the signed-in user together with
their agency: every page scopes by the agency and the top bar names it, so one query, not two."""
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class AgencyModelBackend(ModelBackend):
    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("agency").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


PATH = "%s.%s" % (AgencyModelBackend.__module__, AgencyModelBackend.__qualname__)
