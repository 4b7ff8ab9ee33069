"""JSON API v1 for integrations (bearer API keys)."""
