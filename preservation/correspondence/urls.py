from django.urls import path

from preservation.correspondence import views

urlpatterns = [
    path("requests/<int:pk>/correspondence/%s/" % action.replace("_", "-"), views.correspondence_add,
         {"action": action}, name="correspondence_%s" % action)
    for action in views.ACTIONS
] + [
    path("correspondence/<int:pk>/download/", views.entry_download, name="correspondence_download"),
    path("mail/", views.inbox, name="mail_inbox"),
    path("mail/upload/", views.inbox_upload, name="mail_upload"),
    path("mail/<int:pk>/", views.message_detail, name="mail_message"),
    path("mail/<int:pk>/message.eml", views.message_raw, name="mail_raw"),
    path("mail/<int:pk>/attach/", views.message_attach, name="mail_attach"),
    path("mail/<int:pk>/receipt/", views.message_confirm_receipt, name="mail_confirm_receipt"),
]
