"""Used by scrapyd-deploy only (it runs ``setup.py bdist_egg``); the project's
metadata, packages and package data are in pyproject.toml."""

from setuptools import setup

setup()
