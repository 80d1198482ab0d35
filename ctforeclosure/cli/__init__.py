"""The ``ctforeclosure`` command (:mod:`ctforeclosure.cli.app`: one click group, a
module per area) and Scrapy's project commands (:mod:`.scrapy_commands`).

Empty on purpose: every ``scrapy`` start imports :mod:`.scrapy_commands`, which must
not pay for importing every click command.
"""
