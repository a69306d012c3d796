"""API routes of groups (under /api/v1/): polls, group plans and "Plan our weekend"."""

from django.urls import path

from apps.groups.api import plans, polls, weekend

GROUP = "groups/<int:group_id>"

urlpatterns = [
    path(f"{GROUP}/polls", polls.PollListView.as_view(), name="api-group-polls"),
    path(f"{GROUP}/polls/<int:poll_id>", polls.PollDetailView.as_view(), name="api-group-poll"),
    path(f"{GROUP}/polls/<int:poll_id>/votes", polls.VotesView.as_view(), name="api-group-poll-votes"),
    path(f"{GROUP}/polls/<int:poll_id>/close", polls.CloseView.as_view(), name="api-group-poll-close"),
    path(f"{GROUP}/plans", plans.PlanListView.as_view(), name="api-group-plans"),
    path(f"{GROUP}/plans/<int:plan_id>", plans.PlanDetailView.as_view(), name="api-group-plan"),
    path(f"{GROUP}/plans/<int:plan_id>/answer", plans.AnswerView.as_view(), name="api-group-plan-answer"),
    path(f"{GROUP}/weekend", weekend.WeekendView.as_view(), name="api-group-weekend"),
    path(
        f"{GROUP}/plans/<int:plan_id>/invitation.ics", plans.InvitationView.as_view(), name="api-group-plan-invitation"
    ),
]
