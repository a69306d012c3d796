from decimal import Decimal
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.validators import (
    validate_category_slugs,
    validate_currency,
    validate_latitude,
    validate_longitude,
    validate_timezone,
)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. The email address is the login."""

    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email


class TravelMode(models.TextChoices):
    WALK = "walk", "Walk"
    BIKE = "bike", "Bike"
    TRANSIT = "transit", "Public transport"
    DRIVE = "drive", "Drive"


# What a person can set about themselves, in the order forms and the API show it.
PROFILE_FIELDS = (
    "display_name",
    "home_address",
    "home_lat",
    "home_lon",
    "timezone",
    "interests",
    "budget",
    "currency",
    "travel_mode",
    "max_distance_km",
)


class Profile(models.Model):
    """What a person tells us so we can plan for them: where, when, what they like, what they spend."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(max_length=100, blank=True)
    home_address = models.CharField(max_length=300, blank=True)
    home_lat = models.FloatField(null=True, blank=True, validators=[validate_latitude])
    home_lon = models.FloatField(null=True, blank=True, validators=[validate_longitude])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    interests = models.JSONField(default=list, blank=True, validators=[validate_category_slugs])
    budget = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Per weekend, in the profile's currency.",
    )
    currency = models.CharField(max_length=3, default="EUR", validators=[validate_currency])
    travel_mode = models.CharField(max_length=10, choices=TravelMode.choices, default=TravelMode.TRANSIT)
    max_distance_km = models.PositiveIntegerField(default=25, validators=[MinValueValidator(1)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(home_lat__isnull=True) | Q(home_lat__gte=-90, home_lat__lte=90),
                name="profile_home_lat_range",
            ),
            models.CheckConstraint(
                condition=Q(home_lon__isnull=True) | Q(home_lon__gte=-180, home_lon__lte=180),
                name="profile_home_lon_range",
            ),
            models.CheckConstraint(
                condition=Q(home_lat__isnull=True, home_lon__isnull=True)
                | Q(home_lat__isnull=False, home_lon__isnull=False),
                name="profile_home_lat_lon_together",
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=0), name="profile_budget_not_negative"
            ),
            models.CheckConstraint(condition=Q(max_distance_km__gte=1), name="profile_max_distance_positive"),
        ]

    def __str__(self) -> str:
        return f"Profile of {self.user}"
