from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core.api.errors import api_not_found

api_v1 = [
    path("", include("apps.users.api.urls")),
    path("", include("apps.events.api.urls")),
    path("", include("apps.calendars.api.urls")),
    path("", include("apps.analytics.api.urls")),
    path("", include("apps.recommendations.api.urls")),
    path("", include("apps.itineraries.api.urls")),
    path("", include("apps.notifications.api.urls")),
    path("", include("apps.groups.api.urls")),
]

# The admin's own username/password form would skip allauth: its rate limits and the second factor. People log in
# through allauth's page instead (which brings them back), and a signed-in non-staff person gets a 403.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    # The API first: Django tries the patterns in order, and every API request paid for the pages' ones before.
    path("api/v1/", include(api_v1)),
    path("", include("apps.core.urls")),
    path("", include("apps.users.urls")),
    path("", include("apps.events.urls")),
    path("", include("apps.calendars.urls")),
    path("", include("apps.recommendations.urls")),
    path("", include("apps.itineraries.urls")),
    path("", include("apps.notifications.urls")),
    path("", include("apps.groups.urls")),
    path("", include("apps.analytics.urls")),  # staff only: /staff/analytics/
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from its own URL (?script), so the page needs no
    # inline script under the Content-Security-Policy; the template moves its inline style to a file.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    # Anything else under /api/ is a JSON 404 in the API's error shape, not an HTML page.
    path("api/<path:unknown>", api_not_found),
]

# A database that cannot be reached is a 503 with Retry-After, not a 500 (apps.core.outage).
handler500 = "apps.core.views.server_error"
