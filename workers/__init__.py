"""RQ job functions and the worker class; start workers with `rq worker` (see README)."""
