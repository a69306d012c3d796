from django.urls import path

from apps.users.api import views

urlpatterns = [
    path("auth/token", views.TokenObtainView.as_view(), name="api-token"),
    path("auth/token/refresh", views.TokenRefreshView.as_view(), name="api-token-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="api-logout"),
    path("me", views.MeView.as_view(), name="api-me"),
    path("me/export", views.MeExportView.as_view(), name="api-me-export"),
]
