"""The groups pages: my groups, a group (members, invitations, sharing, availability, polls, group plans) and
joining by link. Every action is a plain form post that comes back to the page (POST/redirect/GET), so all of it
works without JavaScript; htmx only refreshes poll results in place."""
