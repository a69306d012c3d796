"""The calendars API, a module per resource: calendars (with their ICS, feed and import), subscriptions, plans
(with their occurrences), and the windows across plans (occurrences, conflicts, free/busy)."""
