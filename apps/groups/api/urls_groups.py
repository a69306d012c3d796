"""API routes of groups (under /api/v1/): groups, members, invitations and availability."""

from django.urls import path

from apps.groups.api import groups as views

urlpatterns = [
    path("groups", views.GroupListView.as_view(), name="api-groups"),
    path("groups/join", views.JoinView.as_view(), name="api-groups-join"),
    path("groups/<int:group_id>", views.GroupDetailView.as_view(), name="api-group"),
    path("groups/<int:group_id>/members", views.MemberListView.as_view(), name="api-group-members"),
    path("groups/<int:group_id>/members/<int:user_id>", views.MemberDetailView.as_view(), name="api-group-member"),
    path("groups/<int:group_id>/owner", views.OwnerView.as_view(), name="api-group-owner"),
    path("groups/<int:group_id>/sharing", views.SharingView.as_view(), name="api-group-sharing"),
    path("groups/<int:group_id>/invites", views.InviteListView.as_view(), name="api-group-invites"),
    path("groups/<int:group_id>/invites/<int:invite_id>", views.InviteDetailView.as_view(), name="api-group-invite"),
    path("groups/<int:group_id>/availability", views.AvailabilityView.as_view(), name="api-group-availability"),
]
