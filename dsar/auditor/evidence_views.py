"""Evidence PDFs for auditors (routes register on dsar.auditor.views.bp)."""
