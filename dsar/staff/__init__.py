"""The privacy team's workspace (staff login)."""
