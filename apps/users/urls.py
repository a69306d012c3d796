from django.urls import path

from apps.users import views

urlpatterns = [
    path("profile/", views.profile_edit, name="profile"),
    path("profile/export/", views.account_export, name="account-export"),
    path("profile/delete/", views.account_delete, name="account-delete"),
]
