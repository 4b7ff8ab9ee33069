"""The documents a request produces, rendered as PDF from our templates only.

`render` holds what every document is built with (the default-deny URL fetcher, `render_pdf`,
the rendered types, `write_atomically`); `compose` picks the documents a finished request gets:
the access answer (`answer`, its records from `answer_data`), or the deletion certificate or
opt-out confirmation (`certificates`). Evidence for auditors lives in `evidence`.

Imports point one way, `compose` -> `answer`/`certificates` -> `render`; this package imports
nothing, so importing any of its modules loads only what that module needs.
"""
