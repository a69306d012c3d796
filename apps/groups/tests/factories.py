"""Groups, memberships and invitations for tests. A GroupFactory group has its owner (`owner`, a new person by
default) as a member, as group_create makes it; add members with MembershipFactory(group=..., user=...)."""

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from apps.groups.models import INVITE_DAYS, Group, Invite, Membership, Role
from apps.users.tests.factories import UserFactory


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Group {n}")
    description = ""

    @factory.post_generation
    def owner(obj: Group, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            Membership.objects.create(group=obj, user=extracted or UserFactory(), role=Role.OWNER)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    group = factory.SubFactory(GroupFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class InviteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invite

    group = factory.SubFactory(GroupFactory)
    created_by = factory.LazyAttribute(lambda o: o.group.memberships.get(role=Role.OWNER).user)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=INVITE_DAYS))
