"""HTML pages of calendars, a module per page: My weekend, the plan form with "Add to my weekend", and the
Calendars page. Thin: read the request, call the selectors and services, shape what the templates show.
Every plan and calendar is looked up through its owner, so another person's is a 404.
"""
