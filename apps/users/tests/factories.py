import factory

from apps.users.models import User

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A user with a usable password, kept on the instance as `raw_password` for log-in tests."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        raw = extracted or DEFAULT_PASSWORD
        obj.set_password(raw)
        obj.raw_password = raw  # type: ignore[attr-defined]
        if create:
            obj.save(update_fields=["password"])
