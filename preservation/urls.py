from django.urls import path

from . import views

app_name = "preservation"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
