from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from preservation import i18n

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", i18n.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("", include("preservation.urls")),
]
