from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from preservation.api import views
from preservation.correspondence.api import CorrespondenceView

app_name = "api"

router = SimpleRouter()
router.register("requests", views.RequestViewSet, basename="request")
router.register("documents", views.DocumentViewSet, basename="document")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(
        url_name="api:schema", template_name="preservation/api/swagger_ui.html"), name="docs"),
    path("me/", views.WhoAmIView.as_view(), name="me"),
    path("serials/validate/", views.SerialValidateView.as_view(), name="serials-validate"),
    path("identifiers/validate/", views.IdentifierValidateView.as_view(), name="identifiers-validate"),
    path("deadlines/", views.DeadlineCalculatorView.as_view(), name="deadlines"),
    path("requests/<str:id>/correspondence/", CorrespondenceView.as_view(), name="request-correspondence"),
    *router.urls,
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
