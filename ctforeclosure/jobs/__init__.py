"""Crawl jobs on scrapyd nodes: the HTTP client, scheduling, listing and cancelling."""
