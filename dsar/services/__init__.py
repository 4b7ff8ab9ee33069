"""Domain services: every decision and state change; views and jobs call these."""
