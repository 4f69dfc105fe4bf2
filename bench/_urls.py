"""The application's URLs plus a trivial login-required page, the load test's baseline: every
middleware (session timeouts, second-factor gate, audit) runs, the view does nothing."""
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path

TRIVIAL_URL = "/bench/trivial/"


@login_required
def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path(TRIVIAL_URL.strip("/") + "/", trivial), path("", include("config.urls"))]
