# The edge (Cloudflare): docs/deployment.md, "The edge (Cloudflare)".
#   make cloudflare-ranges   Cloudflare's published address ranges, fetched from its API into
#                            apps/core/data/cloudflare_ip_ranges.json with today's date (the app trusts CF-Connecting-IP
#                            from them; the ALB's security group admits only them). Needs the internet; never run by
#                            the tests. Then commit the file, run playbooks/edge.yml per environment and deploy.
.PHONY: cloudflare-ranges

cloudflare-ranges: install
	$(BIN)/python scripts/refresh_cloudflare_ranges.py
