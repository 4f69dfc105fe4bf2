from django.urls import path

from preservation.api import token_views
from preservation.reminders import views as notification_views
from preservation.requests import views

app_name = "preservation"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("requests/search/", views.dashboard_search, name="dashboard_search"),
    path("requests/export.csv", views.dashboard_csv, name="dashboard_csv"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/check-serial/", views.serial_check, name="serial_check"),
    path("requests/check-urgency/", views.urgency_check, name="urgency_check"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("requests/<int:pk>/send/", views.request_send, name="request_send"),
    path("requests/<int:pk>/approve/", views.request_action, {"action": "approve"}, name="request_approve"),
    path("requests/<int:pk>/ask-approval/", views.request_action, {"action": "ask_approval"},
         name="request_ask_approval"),
    path("requests/<int:pk>/review-emergency/", views.request_action, {"action": "review_emergency"},
         name="request_review_emergency"),
    path("requests/<int:pk>/assign/", views.request_action, {"action": "assign"}, name="request_assign"),
    path("requests/<int:pk>/extension/send/", views.request_extension_page, name="request_extension_page"),
    path("requests/bulk/", views.requests_bulk, name="requests_bulk"),
    path("requests/<int:pk>/sent/", views.request_action, {"action": "send"}, name="request_record_sending"),
    path("requests/<int:pk>/receipt/", views.request_action, {"action": "record_receipt"},
         name="request_record_receipt"),
    path("requests/<int:pk>/extension/", views.request_action, {"action": "send_extension"},
         name="request_send_extension"),
    path("requests/<int:pk>/extension-receipt/", views.request_action,
         {"action": "record_extension_receipt"}, name="request_record_extension_receipt"),
    path("requests/<int:pk>/legal-process/", views.request_action, {"action": "record_legal_process"},
         name="request_record_legal_process"),
    path("requests/<int:pk>/correct/", views.request_action, {"action": "correct"}, name="request_correct"),
    path("requests/<int:pk>/close/", views.request_action, {"action": "close"}, name="request_close"),
    path("requests/<int:pk>/withdraw/", views.request_action, {"action": "withdraw"},
         name="request_withdraw"),
]

# Reminders: notifications, preferences and calendar feeds (notification_views.py).
urlpatterns += [
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/<int:pk>/read/", notification_views.notification_read, name="notification_read"),
    path("notifications/read-all/", notification_views.notification_read_all, name="notification_read_all"),
    path("reminders/settings/", notification_views.reminder_preferences, name="reminder_preferences"),
    path("reminders/calendar/new-address/", notification_views.calendar_feed_regenerate,
         name="calendar_feed_regenerate"),
    path("calendar/<str:token>.ics", notification_views.calendar_feed, name="calendar_feed"),
    path("requests/<int:pk>/calendar.ics", notification_views.request_ics, name="request_ics"),
    path("account/api-tokens/", token_views.token_list, name="api_tokens"),
    path("account/api-tokens/<int:pk>/revoke/", token_views.token_revoke, name="api_token_revoke"),
]

# Documents: generate, progress, download, agency letterhead (document_views.py).
from preservation.documents import views as document_views  # noqa: E402

urlpatterns += [
    path("requests/<int:pk>/documents/<slug:kind>/", document_views.document_generate,
         name="document_generate"),
    path("documents/<int:pk>/status/", document_views.document_status, name="document_status"),
    path("documents/<int:pk>/download/", document_views.document_download, name="document_download"),
    path("agency/letterhead/", document_views.agency_branding, name="agency_branding"),
]

# USB evidence manifests: CSV and PDF downloads (preservation/evidence/views.py).
from preservation.evidence import views as evidence_views  # noqa: E402

urlpatterns += [
    path("evidence/<uuid:public_id>/manifest.csv", evidence_views.manifest_download, {"fmt": "csv"},
         name="manifest_csv"),
    path("evidence/<uuid:public_id>/manifest.pdf", evidence_views.manifest_download, {"fmt": "pdf"},
         name="manifest_pdf"),
]

# Correspondence: the log of each request and the agency's mail inbox (docs/correspondence.md).
from preservation.correspondence import urls as correspondence_urls  # noqa: E402

urlpatterns += correspondence_urls.urlpatterns
