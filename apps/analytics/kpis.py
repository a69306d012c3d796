"""The business KPIs by name (the API, the CSV export and the dashboard use these names), and how each one's days
add up to a week. Pure definitions: the rollup (apps.analytics.rollup) computes them, the selectors read them."""

from dataclasses import dataclass
from enum import Enum


class Combine(Enum):
    """How a metric's days make a week."""

    SUM = "sum"  # counts: the days add up
    RATIO = "ratio"  # rates: the numerators over the denominators, so a week is exact, not a mean of means
    MEAN = "mean"  # levels: the days' mean (daily actives), weighted by the denominator when it holds a sample size
    LAST = "last"  # trailing windows: the value on the week's last day with one (weekly and monthly actives)


@dataclass(frozen=True)
class Kpi:
    name: str
    combine: Combine
    description: str
    unit: str = ""  # "ratio", "ms", "" (a count)


KPIS: dict[str, Kpi] = {
    kpi.name: kpi
    for kpi in (
        Kpi("active_people_daily", Combine.MEAN, "People with at least one tracked or server-side event that day."),
        Kpi("active_people_weekly", Combine.LAST, "People active in the 7 days ending that day."),
        Kpi("active_people_monthly", Combine.LAST, "People active in the 30 days ending that day."),
        Kpi("signups", Combine.SUM, "Accounts created that day."),
        Kpi(
            "retention_d1",
            Combine.RATIO,
            "Of the people who signed up that day, the share active 1 day later.",
            "ratio",
        ),
        Kpi(
            "retention_d7",
            Combine.RATIO,
            "Of the people who signed up that day, the share active 7 days later.",
            "ratio",
        ),
        Kpi(
            "retention_d30",
            Combine.RATIO,
            "Of the people who signed up that day, the share active 30 days later.",
            "ratio",
        ),
        Kpi("funnel_click_rate", Combine.RATIO, "Of the people shown events, the share who clicked one.", "ratio"),
        Kpi("funnel_save_rate", Combine.RATIO, "Of those who clicked, the share who saved an event.", "ratio"),
        Kpi("funnel_plan_rate", Combine.RATIO, "Of those who saved, the share who made a plan.", "ratio"),
        Kpi(
            "recommendation_ctr",
            Combine.RATIO,
            "Clicked recommendations over recommendations shown, by the list's variant (segment).",
            "ratio",
        ),
        Kpi(
            "events_synced", Combine.SUM, "Events fetched by source syncs that finished that day, by source (segment)."
        ),
        Kpi("sync_failures", Combine.SUM, "Source syncs that failed that day, by source (segment)."),
        Kpi("web_vital_lcp_p75", Combine.MEAN, "75th percentile of Largest Contentful Paint, by page (segment).", "ms"),
        Kpi(
            "web_vital_inp_p75", Combine.MEAN, "75th percentile of Interaction to Next Paint, by page (segment).", "ms"
        ),
        Kpi("web_vital_cls_p75", Combine.MEAN, "75th percentile of Cumulative Layout Shift, by page (segment).", ""),
    )
}
NAMES = tuple(KPIS)

RETENTION_DAYS = (1, 7, 30)
WEB_VITALS = {"LCP": "web_vital_lcp_p75", "INP": "web_vital_inp_p75", "CLS": "web_vital_cls_p75"}
# impression → click → save → plan: each rate is the step's people over the previous step's.
FUNNEL_STEPS = ("impression", "click", "save", "plan")
FUNNEL_RATES = ("funnel_click_rate", "funnel_save_rate", "funnel_plan_rate")
