"""OpenAPI description of the bearer-token authentication (loaded in UsersConfig.ready)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class BearerTokenScheme(SimpleJWTScheme):
    target_class = "apps.users.jwt.BearerTokenAuthentication"
    name = "bearerAuth"
