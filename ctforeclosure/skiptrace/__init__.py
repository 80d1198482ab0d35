"""Skip tracing through BatchData: who is traced, what it costs, what was found.

Entry point for every caller (crawl pipeline, CLI, web UI):
:class:`ctforeclosure.skiptrace.service.SkipTraceService`. Settings are described in
:mod:`ctforeclosure.skiptrace.settings`; the eligibility rule in
:mod:`ctforeclosure.skiptrace.eligibility`.
"""
