"""What machines ask of a running dsar: `/healthz` (load balancers) and `/metrics`
(Prometheus). No sign-in, no session, no rate limit; the metrics need their bearer token."""
