"""The staff page of an experiment's results: the API's figures, in words.

It is served under the admin (apps.analytics.admin adds /admin/analytics/experiment/<key>/results/), so the
admin's own gate applies before it runs: staff only (others are sent to log in, and a signed-in person who is
not staff is refused), and the staff second factor (apps.users.middleware, for the admin's URL namespace).
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.analytics import cuped, formatting, selectors, statistics
from apps.core.db_router import replica_reads


@replica_reads()
def experiment_results_page(request: HttpRequest, key: str) -> HttpResponse:
    # The admin's gate runs first; this keeps the page closed should it ever be routed without it.
    if not (request.user.is_active and request.user.is_staff):
        raise Http404
    experiment = selectors.experiment_by_key(key=key)
    if experiment is None:
        raise Http404
    results = selectors.experiment_results(experiment=experiment)
    context = {
        "experiment": experiment,
        "results": results,
        "primary": formatting.table(results.primary),
        "guardrails": [formatting.table(guardrail) for guardrail in results.guardrails],
        "srm_p_value": formatting.p_value(results.srm_p_value),
        "srm_alpha": statistics.SRM_ALPHA,
        "significance": formatting.SIGNIFICANCE,
        "cuped": formatting.cuped_lines(results.cuped_lifts),
        "cuped_days": cuped.PRE_PERIOD.days,
    }
    return render(request, "analytics/experiment_results.html", context)
