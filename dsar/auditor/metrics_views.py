"""The metrics report (CCPA 11 CCR 7102) (routes register on dsar.auditor.views.bp)."""
