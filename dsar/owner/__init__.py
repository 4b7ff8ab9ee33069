"""The system owner's page: a one-time link to report on a system dsar cannot reach."""
