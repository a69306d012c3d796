from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.api.errors import api_not_found

api_v1 = [
    path("", include("apps.users.api.urls")),
    path("", include("apps.events.api.urls")),
    path("", include("apps.calendars.api.urls")),
]

urlpatterns = [
    path("", include("apps.core.urls")),
    path("", include("apps.users.urls")),
    path("", include("apps.events.urls")),
    path("", include("apps.calendars.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Anything else under /api/ is a JSON 404 in the API's error shape, not an HTML page.
    path("api/<path:unknown>", api_not_found),
]
