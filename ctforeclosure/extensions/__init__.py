"""The crawl's lifecycle: Scrapy extensions, one per module.

They own what a crawl holds from its start to its end (the database, the crawl
run and its checks, alerts, skip tracing) and hand results to each other in
memory through signals (``ctforeclosure.signals``).
"""
