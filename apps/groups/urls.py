"""HTML routes of groups. The join page's path is fixed: invitation links (services.invites.invite_path) point
there."""

from django.urls import path

from apps.groups.views import actions, pages

urlpatterns = [
    path("groups/", pages.groups_page, name="groups"),
    path("groups/new/", pages.group_create, name="group-create"),
    path("groups/join/<str:token>/", pages.join_page, name="group-join"),
    path("groups/<int:group_id>/", pages.group_page, name="group"),
    path("groups/<int:group_id>/leave/", actions.group_leave, name="group-leave"),
    path("groups/<int:group_id>/sharing/", actions.sharing_toggle, name="group-sharing"),
    path("groups/<int:group_id>/members/<int:user_id>/remove/", actions.member_remove, name="group-member-remove"),
    path("groups/<int:group_id>/members/<int:user_id>/owner/", actions.ownership_hand_over, name="group-owner"),
    path("groups/<int:group_id>/invites/link/", actions.invite_link, name="group-invite-link"),
    path("groups/<int:group_id>/invites/email/", actions.invite_email, name="group-invite-email"),
    path("groups/<int:group_id>/invites/<int:invite_id>/revoke/", actions.invite_revoke, name="group-invite-revoke"),
    path("groups/<int:group_id>/weekend/", actions.weekend_plan, name="group-weekend-plan"),
    path("groups/<int:group_id>/polls/new/", actions.poll_create, name="group-poll-create"),
    path("groups/<int:group_id>/polls/<int:poll_id>/", pages.poll_results, name="group-poll"),
    path("groups/<int:group_id>/polls/<int:poll_id>/vote/", actions.vote, name="group-poll-vote"),
    path("groups/<int:group_id>/polls/<int:poll_id>/close/", actions.poll_close, name="group-poll-close"),
    path("groups/<int:group_id>/plans/<int:plan_id>/answer/", actions.plan_answer, name="group-plan-answer"),
    path("groups/<int:group_id>/plans/<int:plan_id>/invite.ics", actions.plan_ics, name="group-plan-ics"),
]
