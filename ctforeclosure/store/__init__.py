"""Storage over ``ctforeclosure.db`` tables, shared by pipelines, CLI and web UI."""
