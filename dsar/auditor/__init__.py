"""The auditor's pages: evidence PDFs, the metrics report, the audit chain's check.

Staff sign in at /staff/login; these routes sit behind the same login and a role check.
"""
