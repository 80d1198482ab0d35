"""Signals the spiders and pipelines use to talk to each other.

Send with ``crawler.signals.send_catch_log(signal=..., **kwargs)``.
"""

#: The cases spider finished a *complete* search of one town (every results page
#: read). kwargs: ``town`` (canonical name), ``dockets`` (set of compact dockets the
#: search listed for that town), ``site_total`` (the site's "Records: a-b of n" n).
#: The upsert pipeline marks the town's stored cases missing from ``dockets`` as
#: "no longer listed".
town_search_complete = object()

#: The upsert pipeline stored a batch. kwargs: ``new_parties``, a list of dicts
#: ``{"party_id", "docket_no", "party_no", "role", "category", "name"}`` for
#: parties inserted by this flush (never re-sent). The skip-trace stage listens.
parties_stored = object()
