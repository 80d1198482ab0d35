"""Downloader middlewares: politeness towards the court's site."""
